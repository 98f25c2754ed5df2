// Differential metering: a metered module and its original, given enough fuel, compute the same
// results, traps, memory and globals. Checked on every bench guest (the AssemblyScript ones
// compiled with host/compile, the TypeScript one on QuickJS), on the QuickJS-built TypeScript
// examples (run through jco's glue, as the host runs them) and on random programs generated as
// WebAssembly text (loops, br_table, calls, call_indirect, recursion, memory ops). Seeds are fixed (FUZZ_SEED overrides; printed).
import fc from "fast-check";
import { createHash } from "node:crypto";
import { transpile } from "@bytecodealliance/jco";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as assert from "uvu/assert";
import { SoloError } from "../../host/index.ts";
import { DEFAULT_METER_SETTINGS, FUEL_GLOBAL, inspectComponent, meter } from "../../host/wasm/index.ts";
import { bigints, difference, trace, trapOf, PLENTY } from "../fuzz/differential.ts";
import { fuzzSeed } from "../fuzz/fuzz-seed.ts";
import { Random, argument, generateModule, type Generated } from "../fuzz/wasm-gen.ts";
import { loadWabt, watToBinary } from "../fuzz/wat.ts";
import { ROOT, test } from "../helpers.ts";
import { compiled } from "../fuzz/compiled.ts";

const SEED = fuzzSeed();
process.stdout.write(`FUZZ_SEED=${SEED}\n`);
await loadWabt();

/**
 * One program from a generator seed: both modules compiled, and the calls to make. Two in three
 * use post-MVP features too. Undefined when the meter refuses the module (a feature it does not
 * meter), which it may: the property is about what it accepts.
 */
function program(genSeed: number) {
  // No exceptions: Solo refuses them (test/abuse/unmeterable-modules-are-refused.test.ts).
  const gen = generateModule(genSeed, { world: "plain", size: 30 + (genSeed % 40), features: genSeed % 3 !== 0, exceptions: false });
  const bytes = watToBinary(gen.wat);
  let metered: Uint8Array<ArrayBuffer>;
  try {
    metered = meter(bytes).bytes;
  } catch (err) {
    if (err instanceof SoloError && err.code === "VALIDATION_FAILED") {
      refused++;
      return undefined;
    }
    throw new Error(explain(gen, genSeed, `meter threw ${String(err)}`));
  }
  const r = new Random(genSeed ^ 0x5eed);
  const calls = Array.from({ length: 3 * gen.functions.length }, () => {
    const i = r.int(gen.functions.length);
    return { name: `f${i}`, args: gen.functions[i]!.params.map((p) => argument(r, p)) };
  });
  return { gen, bytes, plain: new WebAssembly.Module(bytes), metered: new WebAssembly.Module(metered), calls };
}
let refused = 0;

function explain(gen: Generated, genSeed: number, what: string): string {
  return `generator seed ${genSeed} (FUZZ_SEED=${SEED}): ${what}\n${gen.wat}`;
}

test("generated programs compute the same values, traps, memory and globals metered and not", () => {
  let calls = 0;
  let traps = 0;
  fc.assert(
    fc.property(fc.nat(), (genSeed) => {
      const p = program(genSeed);
      if (!p) return;
      const a = trace(p.plain, {}, p.calls);
      const b = trace(p.metered, {}, p.calls);
      const diff = difference(a, b);
      if (diff) throw new Error(explain(p.gen, genSeed, diff));
      for (const s of b.steps) {
        calls++;
        if ("trap" in s.outcome) traps++;
        // (A trapping call's fuel is not checked: see the next test.)
        else if (!(s.fuel! > 0n)) throw new Error(explain(p.gen, genSeed, `call ${s.call} returned having used ${s.fuel} fuel`));
      }
    }),
    { seed: SEED, numRuns: 400, includeErrorInReport: true },
  );
  // The programs must exercise both paths, and the meter must accept most, or the property says little.
  assert.ok(traps > 0 && traps < calls, `traps ${traps} of ${calls} calls`);
  assert.ok(refused < 400 / 2, `the meter refused ${refused} of 400 programs`);
});

test("with exactly the fuel each call used it returns the same; with less, it returns the same or stops for fuel", () => {
  fc.assert(
    fc.property(fc.nat(), (genSeed) => {
      const p = program(genSeed);
      if (!p) return;
      const full = trace(p.metered, {}, p.calls);
      if (full.start) return; // a start function that traps: nothing to call
      // Replay on a fresh instance, each call given exactly what it used (a trapping call's fuel
      // is not known - a trap leaves a function's cached counter unwritten - so it gets plenty).
      const budgets = full.steps.map((s) => ("trap" in s.outcome ? PLENTY : s.fuel!));
      const exact = traceWithBudgets(p.metered, p.calls, budgets);
      const d = difference(full, exact);
      if (d) throw new Error(explain(p.gen, genSeed, `given exactly the fuel each call used (${budgets.map(String).join(", ")}): ${d}`));
      full.steps.forEach((s, i) => {
        if (!("trap" in s.outcome) && exact.steps[i]!.fuel !== s.fuel) throw new Error(explain(p.gen, genSeed, `call #${i} used ${exact.steps[i]!.fuel} given exactly ${s.fuel}`));
      });
      const first = full.steps[0];
      if (!first || "trap" in first.outcome) return;
      const used = first.fuel!;
      for (const less of [used - 1n, used / 2n, 1n]) {
        if (less <= 0n || less >= used) continue;
        const step = trace(p.metered, {}, p.calls.slice(0, 1), less).steps[0]!;
        const same = JSON.stringify(step.outcome, bigints) === JSON.stringify(first.outcome, bigints);
        const ranOut = step.fuel! > less; // the counter went below zero
        if (!ranOut && !same) throw new Error(explain(p.gen, genSeed, `with ${less} of ${used} fuel the call ended differently without running out: ${JSON.stringify(step.outcome, bigints)}`));
        if (ranOut && !("trap" in step.outcome) && !same) throw new Error(explain(p.gen, genSeed, `with ${less} of ${used} fuel the call ran out yet returned ${JSON.stringify(step.outcome, bigints)}`));
      }
    }),
    { seed: SEED + 1, numRuns: 200, includeErrorInReport: true },
  );
});

/** trace(), with a fuel budget per call. */
function traceWithBudgets(module: WebAssembly.Module, calls: { name: string; args: unknown[] }[], budgets: bigint[]): ReturnType<typeof trace> {
  const steps: ReturnType<typeof trace>["steps"] = [];
  let instance: WebAssembly.Instance | undefined;
  for (let i = 0; i < calls.length; i++) {
    // One instance throughout: trace() is given the instance's state by replaying on it.
    const t = trace(module, {}, [calls[i]!], budgets[i], instance);
    if (t.start) return t;
    instance = t.instance;
    steps.push(...t.steps);
  }
  return { steps, instance };
}

// ---- the AssemblyScript bench guests, through the component ABI (UTF-16 strings) ----

interface Guest {
  name: string;
  plain: WebAssembly.Module;
  metered: WebAssembly.Module;
}

async function benchGuest(name: string): Promise<Guest> {
  const file = join(ROOT, "bench", "guests", `${name}.as.ts`);
  const source = readFileSync(file, "utf8");
  const component = await compiled("assemblyscript", source, `${name}.as.ts`);
  const inspected = inspectComponent(component);
  if (inspected.kind !== "core") throw new Error(`${name}: expected one core module`);
  return { name, plain: new WebAssembly.Module(inspected.module as Uint8Array<ArrayBuffer>), metered: new WebAssembly.Module(meter(inspected.module).bytes) };
}

/** Calls handle(request) on a fresh instance the way the host does; records the reply, the logs and the memory. */
function callGuest(module: WebAssembly.Module, requests: string[]) {
  const logs: string[] = [];
  let memory: WebAssembly.Memory | undefined;
  const text = (ptr: number, len: number) => String.fromCharCode(...new Uint16Array(memory!.buffer, ptr, len));
  const imports: WebAssembly.Imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] ??= {};
    (imports[imp.module] as Record<string, unknown>)[imp.name] = imp.name === "log"
      ? (level: number, ptr: number, len: number) => logs.push(`${level}:${text(ptr, len)}`)
      : () => { throw new Error(`unexpected import ${imp.module}#${imp.name}`); };
  }
  const instance = new WebAssembly.Instance(module, imports);
  const ex = instance.exports as Record<string, any>;
  memory = ex.memory as WebAssembly.Memory;
  // A metered module waits for the host: budget and fuel first, then its start function.
  if (ex.solo_memory_budget) ex.solo_memory_budget.value = 65536;
  if (ex[FUEL_GLOBAL]) ex[FUEL_GLOBAL].value = PLENTY;
  ex.solo_start?.();
  const out: unknown[] = [];
  for (const request of requests) {
    if (ex[FUEL_GLOBAL]) ex[FUEL_GLOBAL].value = PLENTY;
    try {
      const ptr = ex.cabi_realloc(0, 0, 2, request.length * 2) as number;
      new Uint16Array(memory.buffer, ptr, request.length).set(Array.from(request, (c) => c.charCodeAt(0)));
      const ret = ex.handle(ptr, request.length) as number;
      const view = new DataView(memory.buffer);
      out.push({ tag: view.getUint8(ret), text: text(view.getUint32(ret + 4, true), view.getUint32(ret + 8, true)) });
    } catch (err) {
      out.push({ trap: trapOf(err) });
    }
    out.push(memory.buffer.byteLength, sha(memory));
  }
  return { out, logs };
}

function sha(memory: WebAssembly.Memory): string {
  // Memory can be megabytes: compare a digest, not the bytes.
  return createHash("sha256").update(new Uint8Array(memory.buffer)).digest("hex");
}

const INPUTS: Record<string, string[]> = {
  sha256: ["16", "1", "0"],
  quicksort: ["2000", "1", "0"],
  tokenizer: ["50", "1", "0"],
};

/** Requests as an agent might send them: numbers the guests parse, and anything else. */
const requestArb = fc.oneof(fc.integer({ min: -3, max: 600 }).map(String), fc.string({ maxLength: 12 }).filter((s) => !(Number.parseInt(s, 10) > 600)));

for (const name of ["sha256", "quicksort", "tokenizer"]) {
  test(`bench guest ${name}: metered and original give the same replies, logs and memory`, async () => {
    const g = await benchGuest(name);
    const requests = [...INPUTS[name]!, ...fc.sample(requestArb, { seed: SEED, numRuns: 12 })];
    const a = callGuest(g.plain, requests);
    const b = callGuest(g.metered, requests);
    assert.equal(JSON.stringify(b, bigints), JSON.stringify(a, bigints), `requests ${JSON.stringify(requests)}`);
    assert.ok(a.out.some((o) => typeof o === "object" && o !== null && "tag" in o && (o as { tag: number }).tag === 0), "at least one call answered");
  });
}

// ---- QuickJS guests (TypeScript examples): every core module metered with shared counters ----

interface GlueModule {
  instantiate(getCoreModule: (name: string) => WebAssembly.Module, imports: Record<string, Record<string, unknown>>, instantiateCore: (m: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance): { handle(request: string): unknown };
}

/** Compiles (cached) and transpiles an example (or a bench guest); loads jco's glue from a temp dir, as the host does. */
async function quickjsGuest(name: string, dir: string, folder = "examples") {
  const source = readFileSync(join(ROOT, folder, name), "utf8");
  const component = await compiled("typescript", source, name);
  const { files } = (await transpile(component, { name: "guest", instantiation: "sync", noTypescript: true, base64Cutoff: 0 })) as unknown as { files: Record<string, Uint8Array> };
  const out = join(dir, name.replace(/\W/g, "_"));
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "package.json"), '{"type":"module"}');
  const modules: Record<string, { plain: WebAssembly.Module; metered: WebAssembly.Module }> = {};
  for (const [file, bytes] of Object.entries(files)) {
    if (file === "guest.js") writeFileSync(join(out, file), bytes);
    if (file.endsWith(".wasm")) {
      modules[file] = { plain: new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), metered: new WebAssembly.Module(meter(bytes, { ...DEFAULT_METER_SETTINGS, sharedCounters: true }).bytes) };
    }
  }
  const glue = (await import(pathToFileURL(join(out, "guest.js")).href)) as GlueModule;
  return { glue, modules };
}

/** Runs the requests through one instance; answers, errors, kv, logs and every memory's digest. */
function runGlue(g: Awaited<ReturnType<typeof quickjsGuest>>, kind: "plain" | "metered", requests: string[]) {
  const counters = {
    fuel: new WebAssembly.Global({ value: "i64", mutable: true }, PLENTY),
    memory_budget: new WebAssembly.Global({ value: "i32", mutable: true }, 65536),
    grow_failed: new WebAssembly.Global({ value: "i32", mutable: true }, 0),
  };
  const kv = new Map<string, string>();
  const logs: string[] = [];
  let random = 1n;
  const imports = {
    "solo:agent/log": { log: (level: string, message: string) => logs.push(`${level}:${message}`) },
    "solo:agent/kv": {
      get: (k: string) => kv.get(k),
      set: (k: string, v: string) => void kv.set(k, v),
      delete: (k: string) => void kv.delete(k),
      keys: (p: string) => [...kv.keys()].filter((k) => k.startsWith(p)),
    },
    "solo:agent/clock": { nowMs: () => 1_700_000_000_000n, monotonicNs: () => 42n },
    "solo:agent/random": { nextU64: () => (random = (random * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn) },
    "solo:agent/secrets": { get: () => { throw new Error("no secrets here"); } },
    "solo:agent/services": { call: () => { throw new Error("no services here"); } },
    "solo:agent/events": { emit: () => undefined },
  };
  const memories: WebAssembly.Memory[] = [];
  const instance = g.glue.instantiate((name) => g.modules[name]![kind], imports, (m, imps) => {
    const inst = new WebAssembly.Instance(m, { ...imps, "solo:meter": counters });
    for (const v of Object.values(inst.exports)) if (v instanceof WebAssembly.Memory) memories.push(v);
    (inst.exports.solo_start as (() => void) | undefined)?.(); // the engine ran the original's at instantiation
    return inst;
  });
  const out: unknown[] = [];
  for (const request of requests) {
    counters.fuel.value = PLENTY;
    try {
      out.push({ value: instance.handle(request) });
    } catch (err) {
      const payload = err && typeof err === "object" && "payload" in err ? (err as { payload: unknown }).payload : undefined;
      out.push(payload !== undefined ? { error: payload } : { trap: trapOf(err) });
    }
    out.push(memories.map((m) => createHash("sha256").update(new Uint8Array(m.buffer)).digest("hex")));
  }
  return { out, kv: [...kv], logs, fuelUsed: String(PLENTY - (counters.fuel.value as bigint)) };
}

test("QuickJS examples: metered and original give the same replies, errors, kv, logs and memory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-diff-"));
  try {
    const cases: Record<string, string[]> = {
      "echo.ts": ["", "hello", "héllo wörld ✓", "x".repeat(3000)],
      "counter.ts": ["a", "b", "reset", "c"],
      "transform.ts": ['{"items":[{"name":"a","price":2,"qty":3},{"name":"b","price":1.5,"qty":10}]}', "not json", '{"items":3}', '{"items":[]}'],
    };
    for (const [name, fixed] of Object.entries(cases)) {
      const g = await quickjsGuest(name, dir);
      const requests = [...fixed, ...fc.sample(fc.string({ maxLength: 40 }), { seed: SEED, numRuns: 4 })];
      const a = runGlue(g, "plain", requests);
      const b = runGlue(g, "metered", requests);
      assert.ok(BigInt(b.fuelUsed) > 0n, `${name}: the metered run used fuel`);
      assert.equal(JSON.stringify({ ...b, fuelUsed: 0 }), JSON.stringify({ ...a, fuelUsed: 0 }), `${name}: ${JSON.stringify(requests)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("QuickJS bench guest rows: metered and original give the same replies and memory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-diff-"));
  try {
    const g = await quickjsGuest("rows.ts", dir, join("bench", "guests"));
    const requests = ["3000", "1", "0", "-5", "abc", ...fc.sample(fc.integer({ min: 0, max: 400 }).map(String), { seed: SEED, numRuns: 4 })];
    const a = runGlue(g, "plain", requests);
    const b = runGlue(g, "metered", requests);
    assert.ok(BigInt(b.fuelUsed) > 0n, "the metered run used fuel");
    assert.equal(JSON.stringify({ ...b, fuelUsed: 0 }), JSON.stringify({ ...a, fuelUsed: 0 }), JSON.stringify(requests));
    assert.ok(a.out.some((o) => typeof o === "object" && o !== null && "value" in o), "at least one call answered");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
