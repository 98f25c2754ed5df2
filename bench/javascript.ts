// TypeScript guests on QuickJS: deploy latency (cold and cached), fuel-metering overhead on
// CPU-bound JS (the same component metered and plain, one process, alternating, after warm-up),
// instantiate time from compiled modules, and RSS per instance.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Host } from "../host/index.ts";
import { compileJavaScript } from "../host/compile/javascript.ts";
import { GlueSandbox, type Glue } from "../host/runtime/glue-sandbox.ts";
import { DEFAULT_METER_SETTINGS, ensureWasmFeatures, meter } from "../host/wasm/index.ts";
import { transpileComponent } from "../host/wasm/transpile.ts";
import { median, quietEnv, report, round } from "./common.ts";

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
  for (let i = 0; i < 10; i++) {
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
  for (let i = 0; i < 25; i++) {
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

  // 3. Instantiate from compiled modules, and RSS per instance.
  const inst: number[] = [];
  for (let i = 0; i < 30; i++) {
    const s = performance.now();
    make(metered);
    inst.push(performance.now() - s);
  }
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage().rss;
  const keep: GlueSandbox[] = [];
  const N = 200;
  for (let i = 0; i < N; i++) {
    const s = make(metered);
    s.call("10", 1_000_000_000, 1 << 20);
    keep.push(s);
  }
  const perInstance = (process.memoryUsage().rss - before) / N;
  console.log(`instantiate p50 ${median(inst).toFixed(2)} ms; RSS per instance ${(perInstance / 1048576).toFixed(2)} MiB (${Math.round(1073741824 / perInstance)} instances per GB); linear memory ${(keep[0]!.memoryBytes / 1048576).toFixed(2)} MiB`);

  report({
    bench: "javascript",
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
    goal: { ratio: 1.1, deployColdMs: 1000, deployCachedMs: 10, instancesPerGB: 1000 },
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
