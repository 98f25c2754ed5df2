// TypeScript guests on QuickJS: deploy latency (cold and cached), fuel-metering overhead on
// CPU-bound JS (the same component metered and plain, one process, alternating, after warm-up),
// instantiate time and RSS per instance as the worker runs them (ComponentSandbox, memories from
// the pool), and Solo's own component binding against jco's glue (GlueSandbox): instantiate with
// pooled memories, with memories of its own (as before the pool) and through the glue, echo call
// overhead as the worker sees them, and echo through the Host API.
// Run: node --expose-gc --import ./bin/ts-register.mjs bench/javascript.ts
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Host } from "../host/index.ts";
import { compileJavaScript } from "../host/compile/javascript.ts";
import { GlueSandbox, type Glue } from "../host/runtime/glue-sandbox.ts";
import { ComponentSandbox } from "../host/runtime/component-sandbox.ts";
import { MemoryPool, memoryPool } from "../host/runtime/memory-pool.ts";
import { ArtifactCache, DEFAULT_METER_SETTINGS, ensureWasmFeatures, meter, planComponent, type ComponentPlan } from "../host/wasm/index.ts";
import { walkCoreModules } from "../host/wasm/component.ts";
import { transpileComponent } from "../host/wasm/transpile.ts";
import { median, quietEnv, report, round, scaled } from "./common.ts";

ensureWasmFeatures();
const dir = mkdtempSync(join(tmpdir(), "solo-bench-js-"));

// A CPU-bound guest (bench/guests/rows.ts): string building, objects, arrays, a hash.
const CPU = readFileSync(new URL("./guests/rows.ts", import.meta.url), "utf8");

try {
  // 1. Deploy latency through the Host: cold (nothing cached) and cached (same source again).
  const cacheDir = join(dir, "artifacts");
  const host = await Host.open({ dataDir: join(dir, "data"), cacheDir, workers: 1 });
  const source = `// ${Date.now()}\n${CPU}`;
  let t = performance.now();
  await host.deploy({ tenant: "b", service: "cold", source, language: "typescript" });
  const coldMs = performance.now() - t;
  // A different source on a host that has run QuickJS before: the engine module is metered already.
  t = performance.now();
  await host.deploy({ tenant: "b", service: "second", source: `// second ${Date.now()}\n${CPU}`, language: "typescript" });
  const secondMs = performance.now() - t;
  const cached: number[] = [];
  for (let i = 0; i < scaled(10, 5); i++) {
    t = performance.now();
    await host.deploy({ tenant: "b", service: `warm${i}`, source, language: "typescript" });
    cached.push(performance.now() - t);
  }
  await host.close();
  // A new host (its own data, so nothing is recovered) sharing the artifact cache on disk.
  const reopened = await Host.open({ dataDir: join(dir, "data2"), cacheDir, workers: 1 });
  t = performance.now();
  await reopened.deploy({ tenant: "b", service: "disk", source, language: "typescript" });
  const diskMs = performance.now() - t;
  await reopened.close();
  console.log(`deploy: cold ${coldMs.toFixed(0)} ms; a new source on a warm host ${secondMs.toFixed(0)} ms; cached in memory p50 ${median(cached).toFixed(1)} ms; cached on disk (new host) ${diskMs.toFixed(0)} ms`);

  // 2. The same component metered and plain.
  const component = await compileJavaScript(CPU, "cpu.ts", "typescript");
  const { glue, modules } = await transpileComponent(component);
  const glueDir = join(dir, "glue");
  mkdirSync(glueDir, { recursive: true });
  writeFileSync(join(glueDir, "package.json"), '{"type":"module"}');
  writeFileSync(join(glueDir, "guest.js"), glue);
  const g = (await import(pathToFileURL(join(glueDir, "guest.js")).href)) as Glue;
  const plain: Record<string, WebAssembly.Module> = {};
  const metered: Record<string, WebAssembly.Module> = {};
  for (const [name, bytes] of Object.entries(modules)) {
    plain[name] = new WebAssembly.Module(new Uint8Array(bytes));
    metered[name] = new WebAssembly.Module(meter(bytes, { ...DEFAULT_METER_SETTINGS, sharedCounters: true }).bytes);
  }
  const make = (mods: Record<string, WebAssembly.Module>) => new GlueSandbox(g, mods, quietEnv(), 256 * 1024 * 1024, 1_000_000_000);
  const m = make(metered);
  const p = make(plain);
  const INPUT = "3000";
  for (let i = 0; i < 20; i++) {
    const a = m.call(INPUT, 10_000_000_000, 1 << 20);
    const b = p.call(INPUT, 10_000_000_000, 1 << 20);
    if (!a.ok || !b.ok || a.output !== b.output) throw new Error(`metered and plain disagree: ${JSON.stringify([a, b])}`);
  }
  const mt: number[] = [];
  const pt: number[] = [];
  let fuel = 0;
  for (let i = 0; i < scaled(25, 15); i++) {
    let s = performance.now();
    const a = m.call(INPUT, 10_000_000_000, 1 << 20);
    mt.push(performance.now() - s);
    if (a.ok) fuel = a.fuel;
    s = performance.now();
    p.call(INPUT, 10_000_000_000, 1 << 20);
    pt.push(performance.now() - s);
  }
  const ratio = median(mt) / median(pt);
  console.log(`JS fuel overhead: metered ${median(mt).toFixed(2)} ms, plain ${median(pt).toFixed(2)} ms, ratio ${ratio.toFixed(3)} (fuel ${fuel})`);

  // 3. Instantiate as the worker does (Solo's binding, memories from the pool, made ahead off the
  // timed path: tidy() is what the worker runs between calls), and RSS per live instance.
  const cpu = await builtForWorker(component);
  const gc = (globalThis as { gc?: () => void }).gc;
  const makeCpu = () => new ComponentSandbox(cpu.plan, cpu.modules, quietEnv(), 256 * 1024 * 1024, 1_000_000_000);
  const inst: number[] = [];
  for (let i = 0; i < 30; i++) {
    while (memoryPool.tidy());
    const s = performance.now();
    makeCpu().release();
    inst.push(performance.now() - s);
  }
  while (memoryPool.tidy());
  gc?.();
  const before = process.memoryUsage().rss;
  const keep: ComponentSandbox[] = [];
  const N = 200;
  // Live instances hold memories of their own: a pool that keeps none, so the figure counts no spare.
  const noSpares = new MemoryPool({ perShape: 0 });
  for (let i = 0; i < N; i++) {
    const s = new ComponentSandbox(cpu.plan, cpu.modules, quietEnv(), 256 * 1024 * 1024, 1_000_000_000, undefined, noSpares);
    s.call("10", 1_000_000_000, 1 << 20);
    keep.push(s);
  }
  gc?.();
  const perInstance = (process.memoryUsage().rss - before) / N;
  console.log(`instantiate p50 ${median(inst).toFixed(2)} ms; RSS per instance ${(perInstance / 1048576).toFixed(2)} MiB (${Math.round(1073741824 / perInstance)} instances per GB); linear memory ${(keep[0]!.memoryBytes / 1048576).toFixed(2)} MiB`);
  for (const k of keep) k.release();
  keep.length = 0;

  // 4. Solo's binding against jco's glue, for an echo guest: the same metered modules, one process.
  const echoSource = `export function handle(request: string): string { return request; }\n`;
  const echo = await compileJavaScript(echoSource, "echo.ts", "typescript");
  const echoGlue = await transpileComponent(echo);
  const echoDir = join(dir, "echo-glue");
  mkdirSync(echoDir, { recursive: true });
  writeFileSync(join(echoDir, "package.json"), '{"type":"module"}');
  writeFileSync(join(echoDir, "guest.js"), echoGlue.glue);
  const eg = (await import(pathToFileURL(join(echoDir, "guest.js")).href)) as Glue;
  const shared = { ...DEFAULT_METER_SETTINGS, sharedCounters: true };
  const glueModules = Object.fromEntries(Object.entries(echoGlue.modules).map(([n, b]) => [n, new WebAssembly.Module(meter(b, shared).bytes)]));
  const walked = walkCoreModules(echo);
  let s0 = performance.now();
  const plan = planComponent(echo, walked);
  const planMs = performance.now() - s0;
  const planModules = walked.map((b) => new WebAssembly.Module(meter(b, shared).bytes));
  const pooled = await builtForWorker(echo);
  const oldOne = () => new GlueSandbox(eg, glueModules, quietEnv(), 256 * 1024 * 1024, 1_000_000_000);
  // Memories of its own: the plan and modules as they were before the pool.
  const ownOne = () => new ComponentSandbox(plan, planModules, quietEnv(), 256 * 1024 * 1024, 1_000_000_000);
  const newOne = () => new ComponentSandbox(pooled.plan, pooled.modules, quietEnv(), 256 * 1024 * 1024, 1_000_000_000);
  const instOld: number[] = [];
  const instOwn: number[] = [];
  const instNew: number[] = [];
  const tidyMs: number[] = [];
  for (let i = 0; i < scaled(40, 20); i++) {
    // Alternating, each after a collection when --expose-gc is on (else GC lands in either).
    gc?.();
    s0 = performance.now();
    oldOne();
    instOld.push(performance.now() - s0);
    gc?.();
    s0 = performance.now();
    ownOne();
    instOwn.push(performance.now() - s0);
    gc?.();
    // The pool's upkeep (the worker runs it between calls): making a memory ahead costs the page faults once.
    s0 = performance.now();
    while (memoryPool.tidy());
    tidyMs.push(performance.now() - s0);
    s0 = performance.now();
    newOne(); // not released: each takes a memory made ahead, as a re-creation after an eviction of a grown one does
    instNew.push(performance.now() - s0);
  }
  const o = oldOne();
  const n = newOne();
  const callOld: number[] = [];
  const callNew: number[] = [];
  for (let i = 0; i < 200; i++) o.call("warm", 1_000_000_000, 1 << 20), n.call("warm", 1_000_000_000, 1 << 20);
  for (let i = 0; i < scaled(3000, 1000); i++) {
    s0 = performance.now();
    o.call("ping", 1_000_000_000, 1 << 20);
    callOld.push((performance.now() - s0) * 1000);
    s0 = performance.now();
    n.call("ping", 1_000_000_000, 1 << 20);
    callNew.push((performance.now() - s0) * 1000);
  }
  const echoFuel = [o.call("ping", 1e9, 1 << 20), n.call("ping", 1e9, 1 << 20)].map((r) => (r.ok ? r.fuel : -1));
  console.log(`echo instantiate p50: glue ${median(instOld).toFixed(2)} ms, Solo's binding with memories of its own ${median(instOwn).toFixed(2)} ms, with pooled memories ${median(instNew).toFixed(2)} ms (min ${Math.min(...instNew).toFixed(2)}), ratio glue/pooled ${(median(instOld) / median(instNew)).toFixed(2)} (plan made once at build: ${planMs.toFixed(0)} ms; a pooled memory made ahead off the hot path: p50 ${median(tidyMs).toFixed(2)} ms)`);
  console.log(`echo call in the worker p50: glue ${median(callOld).toFixed(1)} us, Solo's binding ${median(callNew).toFixed(1)} us, ratio old/new ${(median(callOld) / median(callNew)).toFixed(2)} (fuel per call: glue ${echoFuel[0]}, binding ${echoFuel[1]})`);

  // 5. Echo through the Host API (the worker runs Solo's binding now).
  const apiHost = await Host.open({ dataDir: join(dir, "data3"), cacheDir, workers: 1 });
  await apiHost.deploy({ tenant: "b", service: "echo", source: echoSource, language: "typescript" });
  for (let i = 0; i < 300; i++) await apiHost.call("b", "echo", "warm");
  const api: number[] = [];
  for (let i = 0; i < scaled(2000, 1000); i++) {
    s0 = performance.now();
    await apiHost.call("b", "echo", "ping");
    api.push((performance.now() - s0) * 1000);
  }
  const apiKind = apiHost.versions("b", "echo")[0]!.kind;
  await apiHost.close();
  console.log(`echo through Host API p50 ${median(api).toFixed(1)} us (runs as ${apiKind})`);

  report({
    bench: "javascript",
    echoInstantiateGlueMs: round(median(instOld), 2),
    echoInstantiateBindingMs: round(median(instNew), 2),
    echoInstantiateOwnMemoriesMs: round(median(instOwn), 2),
    poolMemoryAheadMs: round(median(tidyMs), 2),
    echoInstantiateRatio: round(median(instOld) / median(instNew), 2),
    echoCallGlueUs: round(median(callOld), 1),
    echoCallBindingUs: round(median(callNew), 1),
    echoCallRatio: round(median(callOld) / median(callNew), 2),
    echoHostApiUs: round(median(api), 1),
    deployColdMs: Math.round(coldMs),
    deployNewSourceWarmHostMs: Math.round(secondMs),
    deployCachedMs: round(median(cached), 1),
    deployCachedFromDiskMs: Math.round(diskMs),
    ratio: round(ratio),
    meteredMs: round(median(mt)),
    plainMs: round(median(pt)),
    instantiateMs: round(median(inst), 2),
    rssPerInstanceMiB: round(perInstance / 1048576, 2),
    instancesPerGB: Math.round(1073741824 / perInstance),
    goal: { ratio: 1.1, deployColdMs: 1000, deployCachedMs: 10, instancesPerGB: 4000, echoInstantiateBindingMs: 1, echoCallBindingUs: 10 },
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** A component as the builder hands it to the worker: Solo's plan, modules importing their memories. */
async function builtForWorker(component: Uint8Array): Promise<{ plan: ComponentPlan; modules: WebAssembly.Module[] }> {
  const a = await new ArtifactCache(undefined).artifact(component, { trustGlue: false });
  if (a.kind !== "component" || !a.plan) throw new Error(`expected a component Solo wires itself, got ${a.kind}`);
  const names = Object.keys(a.modules).sort((x, y) => Number(x) - Number(y));
  return { plan: a.plan, modules: names.map((n) => new WebAssembly.Module(a.modules[n]!.bytes as Uint8Array<ArrayBuffer>)) };
}
