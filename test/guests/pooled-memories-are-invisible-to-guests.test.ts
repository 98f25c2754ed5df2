// A TypeScript guest's modules import their memories, and the worker hands them memories made
// ahead or given back by dropped instances (runtime/memory-pool.ts). A guest must not be able to
// tell: same outputs, same fuel, same bytes as with memories of its own, nothing left from the
// memory's last tenant, and a grown memory is never handed out again. (The worker's pool reuses
// only memories that zeroing leaves about as resident; these pools reuse every one, to test it.)
// The builder also drops the exports the plan never reads (wasm/prune-exports.ts): the "own"
// modules here keep them all, so every comparison below also holds the pruned ones to the full.
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { compileJavaScript } from "../../host/compile/javascript.ts";
import { ComponentSandbox } from "../../host/runtime/component-sandbox.ts";
import { MemoryPool } from "../../host/runtime/memory-pool.ts";
import { witOk, type GuestEnv } from "../../host/runtime/index.ts";
import { ArtifactCache, DEFAULT_METER_SETTINGS, ensureWasmFeatures, meter, planComponent, type ComponentPlan } from "../../host/wasm/index.ts";
import { walkCoreModules } from "../../host/wasm/component.ts";
import { MEMORY_IMPORT, type MemoryShape } from "../../host/wasm/import-memory.ts";
import { usedExports } from "../../host/wasm/prune-exports.ts";
import { INSTANTIATE_FUEL_GLOBAL, START_EXPORT } from "../../host/wasm/meter.ts";
import { sections } from "../../host/wasm/binary.ts";
import { readModuleInfo } from "../../host/wasm/index.ts";
import { compileKey } from "../../host/compile/key.ts";
import { TEST_CACHE, test } from "../helpers.ts";

ensureWasmFeatures();

/** Answers the request before this one (so it keeps each request in its memory); "grow:N" allocates N bytes. */
const KEEPER = `let last = "";
export function handle(request: string): string {
  if (request.startsWith("grow:")) return String(new Uint8Array(Number(request.slice(5))).length);
  const before = last;
  last = request;
  return before;
}
`;
const ROWS = readFileSync(new URL("../../bench/guests/rows.ts", import.meta.url), "utf8");

const env: GuestEnv = {
  log: () => {}, kvGet: () => witOk(undefined), kvSet: () => witOk(undefined), kvDelete: () => witOk(undefined), kvKeys: () => witOk([]), kvCount: () => 0,
  secretGet: () => ({ ok: false, kind: "access-denied", message: "" }), serviceCall: () => ({ ok: false, kind: "access-denied", message: "" }),
  emit: () => witOk(undefined), nextU64: () => 7n, nowMs: () => 0n, monotonicNs: () => 0n, randomFill: (t) => void t.fill(3),
};

/** One guest two ways: as the builder makes it now (memories imported) and with memories of its own. */
interface Built {
  pooled: { plan: ComponentPlan; modules: WebAssembly.Module[]; bytes: Uint8Array[] };
  own: { plan: ComponentPlan; modules: WebAssembly.Module[]; bytes: Uint8Array[] };
  /** The export names each core module's plan reads (what pruning keeps). */
  used: Set<string>[];
}

// The test cache is content-addressed and shared with the hosts of other tests: compiled once.
const cache = new ArtifactCache(TEST_CACHE);
async function build(source: string, file: string): Promise<Built> {
  const component = await cache.component(compileKey("typescript", source), () => compileJavaScript(source, file, "typescript"));
  const a = await cache.artifact(component, { trustGlue: false });
  const names = Object.keys(a.modules).sort((x, y) => Number(x) - Number(y));
  const pooledBytes = names.map((n) => a.modules[n]!.bytes);
  const pooled = { plan: a.plan!, modules: pooledBytes.map((b) => new WebAssembly.Module(b as Uint8Array<ArrayBuffer>)), bytes: pooledBytes };
  const walked = walkCoreModules(component);
  const ownBytes = walked.map((b) => meter(b, { ...DEFAULT_METER_SETTINGS, sharedCounters: true }).bytes);
  const ownPlan = planComponent(component, walked);
  const own = { plan: ownPlan, modules: ownBytes.map((b) => new WebAssembly.Module(b)), bytes: ownBytes };
  return { pooled, own, used: usedExports(ownPlan, walked) };
}

/** A pool that remembers every memory it handed out, in order. */
class WatchedPool extends MemoryPool {
  readonly handed: WebAssembly.Memory[] = [];
  override take(shape: MemoryShape): WebAssembly.Memory {
    const m = super.take(shape);
    this.handed.push(m);
    return m;
  }
}

/** Where the engine's memory (the one with pages from the start) is among the memories an instance takes, in step order. */
function mainMemory(plan: ComponentPlan): { at: number; shape: MemoryShape } {
  const taken = plan.steps.filter((s) => plan.memories?.[s.module]).map((s) => plan.memories![s.module]!);
  const at = taken.findIndex((shape) => shape.initial > 0);
  return { at, shape: taken[at]! };
}

const LIMIT = 64 << 20;
const FUEL = 200_000_000;
const [keeper, rows] = await Promise.all([build(KEEPER, "keeper.ts"), build(ROWS, "rows.ts")]);

test("the builder makes a QuickJS guest's memories imports, and its plan names their shapes", () => {
  const memories = keeper.pooled.plan.memories ?? {};
  assert.ok(Object.keys(memories).length >= 1, "at least the engine's memory is imported");
  for (const [i, shape] of Object.entries(memories)) {
    const imports = WebAssembly.Module.imports(keeper.pooled.modules[Number(i)]!);
    assert.ok(imports.some((m) => m.module === MEMORY_IMPORT.module && m.name === MEMORY_IMPORT.name && m.kind === "memory"), `module ${i} imports its memory`);
    assert.ok(shape.initial >= 0 && shape.maximum! >= shape.initial, `module ${i}: ${JSON.stringify(shape)}`);
  }
  assert.equal(keeper.own.plan.memories, undefined, "the plain plan defines its memories as before");
});

test("an instance on recycled memories answers, charges and holds memory exactly as one with memories of its own", () => {
  for (const [name, guest, requests] of [["rows", rows, ["0", "10", "500", "2000", "10"]], ["keeper", keeper, ["a", "bé", "", "grow:1000", "c"]]] as const) {
    const pool = new WatchedPool({ recycleSlackBytes: Infinity });
    // A first tenant dirties its memories, then gives them back.
    const first = new ComponentSandbox(guest.pooled.plan, guest.pooled.modules, env, LIMIT, FUEL, undefined, pool);
    for (const r of requests) first.call(r, FUEL, 1 << 20);
    first.release();
    const before = pool.stats().reused;
    const recycled = new ComponentSandbox(guest.pooled.plan, guest.pooled.modules, env, LIMIT, FUEL, undefined, pool);
    assert.ok(pool.stats().reused > before, `${name}: the second instance got the first one's memories`);
    // Made ahead, as the worker's idle turns do: the data pages touched, the rest untouched.
    const ahead = new WatchedPool({ perShape: 1 });
    ahead.expect(mainMemory(guest.pooled.plan).shape);
    while (ahead.tidy());
    const madeAhead = new ComponentSandbox(guest.pooled.plan, guest.pooled.modules, env, LIMIT, FUEL, undefined, ahead);
    assert.ok(ahead.stats().reused >= 1, `${name}: the engine's memory was made ahead`);
    const own = new ComponentSandbox(guest.own.plan, guest.own.modules, env, LIMIT, FUEL);
    assert.is(recycled.memoryBytes, own.memoryBytes, `${name}: memory after instantiation`);
    assert.is(madeAhead.memoryBytes, own.memoryBytes, `${name}: memory after instantiation`);
    for (const r of requests) {
      const want = own.call(r, FUEL, 1 << 20);
      assert.equal(recycled.call(r, FUEL, 1 << 20), want, `${name}: handle(${JSON.stringify(r)}) on a recycled memory`);
      assert.equal(madeAhead.call(r, FUEL, 1 << 20), want, `${name}: handle(${JSON.stringify(r)}) on a memory made ahead`);
    }
    const tight = [recycled.call(requests[3]!, 30_000, 1 << 20), own.call(requests[3]!, 30_000, 1 << 20), madeAhead.call(requests[3]!, 30_000, 1 << 20)];
    assert.is(tight[0]!.ok ? "ok" : tight[0]!.code, "FUEL_EXHAUSTED");
    assert.equal(tight[0], tight[1], `${name}: running out of fuel is the same failure`);
    assert.equal(tight[2], tight[1], `${name}: running out of fuel is the same failure`);
  }
});

test("the builder drops the function and global exports the plan never reads, and moves no index and no byte of code", () => {
  const functions = (bytes: Uint8Array[]) => bytes.reduce((n, b) => n + readModuleInfo(b).exports.filter((e) => e.kind === "function").length, 0);
  for (const [name, guest] of [["rows", rows], ["keeper", keeper]] as const) {
    for (let i = 0; i < guest.own.bytes.length; i++) {
      const full = readModuleInfo(guest.own.bytes[i]!).exports;
      const pruned = readModuleInfo(guest.pooled.bytes[i]!).exports;
      const kept = (e: { name: string; kind: string }) => (e.kind !== "function" && e.kind !== "global") || guest.used[i]!.has(e.name) || e.name === INSTANTIATE_FUEL_GLOBAL || e.name === START_EXPORT;
      assert.equal(pruned, full.filter(kept), `${name} module ${i}: exactly the exports the plan reads, the meter's, memories and tables, at their old indices`);
      const code = (b: Uint8Array) => { const c = sections(b).find((s) => s.id === 10); return c ? Buffer.from(b.subarray(c.start, c.end)) : undefined; };
      assert.ok(code(guest.pooled.bytes[i]!)?.equals(code(guest.own.bytes[i]!)!) ?? !code(guest.own.bytes[i]!), `${name} module ${i}: the metered code is unchanged`);
    }
    // The WASI adapter (~60 function exports, ~8 wired) and the engine's unused exports go.
    const before = functions(guest.own.bytes);
    const after = functions(guest.pooled.bytes);
    assert.ok(before - after >= 50, `${name}: ${before} function exports before, ${after} after`);
    // Pruned or not, an instance starts with the same fuel (the own modules' memories are their own).
    const own = new ComponentSandbox(guest.own.plan, guest.own.modules, env, LIMIT, FUEL);
    const pooled = new ComponentSandbox(guest.pooled.plan, guest.pooled.modules, env, LIMIT, FUEL, undefined, new MemoryPool({ perShape: 0 }));
    assert.is(pooled.startFuel, own.startFuel, `${name}: fuel of instantiation and start`);
    const r = [own.call("10", FUEL, 1 << 20), pooled.call("10", FUEL, 1 << 20)];
    assert.ok(r[1]!.ok, `${name}: the pruned modules answer: ${JSON.stringify(r[1])}`);
    assert.equal(r[1], r[0], `${name}: same answer, fuel and memory`);
  }
});

test("a recycled memory carries nothing from its last tenant: its bytes are a fresh instance's", () => {
  const pool = new WatchedPool({ perShape: 1, recycleSlackBytes: Infinity });
  const secret = "secret-of-tenant-a-7d1f";
  const a = new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, pool);
  a.call(secret, FUEL, 1 << 20);
  const aMemories = [...pool.handed];
  const main = mainMemory(keeper.pooled.plan).at;
  assert.ok(Buffer.from(aMemories[main]!.buffer).includes(secret), "tenant A's request is in its memory");
  a.release();
  const b = new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, pool);
  const bMemories = pool.handed.slice(aMemories.length);
  assert.ok(bMemories[main] === aMemories[main], "B was handed A's memory");
  const freshPool = new WatchedPool({ perShape: 0 });
  new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, freshPool);
  assert.is(freshPool.stats().reused, 0);
  for (let i = 0; i < bMemories.length; i++) {
    assert.ok(Buffer.from(bMemories[i]!.buffer).equals(Buffer.from(freshPool.handed[i]!.buffer)), `memory ${i}: same bytes as a fresh instance's after instantiation`);
  }
  assert.not.ok(Buffer.from(bMemories[main]!.buffer).includes(secret), "nothing of A's request is left");
  const first = b.call("next", FUEL, 1 << 20);
  assert.ok(first.ok && first.output === "", `B's first call sees no earlier request: ${JSON.stringify(first)}`);
});

test("a released instance refuses to run, and a memory that grew is never handed out again", () => {
  const pool = new WatchedPool({ recycleSlackBytes: Infinity });
  const a = new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, pool);
  const start = a.memoryBytes;
  const grown = a.call("grow:4000000", FUEL, 1 << 20);
  assert.ok(grown.ok && a.memoryBytes > start, `the call grew memory (${start} -> ${a.memoryBytes}): ${JSON.stringify(grown)}`);
  const { at: main, shape } = mainMemory(keeper.pooled.plan);
  const big = pool.handed[main]!;
  assert.ok(big.buffer.byteLength > shape.initial * 65536, "the engine's memory is the one that grew");
  a.release();
  let threw: unknown;
  try {
    a.call("x", FUEL, 1 << 20);
  } catch (err) {
    threw = err;
  }
  assert.is((threw as { code?: string } | undefined)?.code, "INTERNAL", "a call after release fails");
  const handedBefore = pool.handed.length;
  new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, pool);
  const next = pool.handed[handedBefore + main]!;
  assert.ok(next !== big, "the grown memory was not reused");
  assert.is(next.buffer.byteLength, shape.initial * 65536, "a new instance starts at the initial size");
});

test("the worker's pool reuses a dropped instance's memory only when zeroing it adds little residency", () => {
  const pool = new WatchedPool();
  const { at: main, shape } = mainMemory(keeper.pooled.plan);
  const dataBytes = (shape.data ?? []).reduce((n, [from, to]) => n + to - from, 0);
  assert.ok(dataBytes > 0 && dataBytes < shape.initial * 65536 / 2, `the snapshot covers part of the memory: ${JSON.stringify(shape)}`);
  const a = new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, pool);
  a.call("x", FUEL, 1 << 20);
  a.release();
  const handed = pool.handed.length;
  new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, pool);
  assert.ok(pool.handed[handed + main] !== pool.handed[main], "the engine's memory (mostly untouched) is not reused: zeroing would fault in all of it");
  const empty = pool.handed.findIndex((m, i) => i < handed && m.buffer.byteLength === 0);
  assert.ok(empty >= 0 && pool.handed.slice(handed).includes(pool.handed[empty]!), "an empty adapter memory is reused");
});

test("an instance dropped to make room under the live cap hands its whole memory to the next, zeroed; a quiet pool drops it", () => {
  // The worker's own settings: a QuickJS engine memory is far from lean (most of it untouched).
  const pool = new WatchedPool({ perShape: 1 });
  const { at: main, shape } = mainMemory(keeper.pooled.plan);
  const engineBytes = shape.initial * 65536;
  const secret = "secret-of-the-evicted-4b2e";
  const fresh = new WatchedPool({ perShape: 0 });
  new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, fresh);
  const next = () => {
    const from = pool.handed.length;
    const s = new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, pool);
    return { s, memories: pool.handed.slice(from) };
  };
  const dirtied = () => {
    const x = next();
    x.s.call(secret, FUEL, 1 << 20);
    assert.ok(Buffer.from(x.memories[main]!.buffer).includes(secret), "the request is in the engine's memory");
    return x;
  };
  /** Bytes the pool keeps of engine-sized memories (the adapters' empty memories weigh nothing). */
  const keptEngine = () => pool.stats().keptBytes;

  // Dropped for idleness (not whole): its engine memory is not kept.
  const idle = dirtied();
  idle.s.release();
  assert.is(keptEngine(), 0, "an idle instance's engine memory is left to the collector");
  const afterIdle = next();
  assert.ok(afterIdle.memories[main] !== idle.memories[main], "an idle instance's engine memory is not reused");
  afterIdle.s.release();

  // Dropped to make room: the next instance gets that very memory, with a fresh instance's bytes.
  const room = dirtied();
  room.s.release(true);
  assert.is(keptEngine(), engineBytes, "the evicted instance's engine memory is kept");
  const taker = next();
  assert.is(keptEngine(), 0, "and handed out again");
  assert.ok(taker.memories[main] === room.memories[main], "the next instance was handed the evicted one's engine memory");
  for (let i = 0; i < taker.memories.length; i++) {
    assert.ok(Buffer.from(taker.memories[i]!.buffer).equals(Buffer.from(fresh.handed[i]!.buffer)), `memory ${i}: same bytes as a fresh instance's after instantiation`);
  }
  const first = taker.s.call("next", FUEL, 1 << 20);
  assert.ok(first.ok && first.output === "", `the next instance sees no earlier request: ${JSON.stringify(first)}`);
  taker.s.release();

  // A memory that grew is never kept, whole or not; of whole ones, at most one per shape (a pool
  // with room for more, so that only that rule can refuse them).
  const roomy = new WatchedPool({ perShape: 4 });
  const instance = () => {
    const from = roomy.handed.length;
    const s = new ComponentSandbox(keeper.pooled.plan, keeper.pooled.modules, env, LIMIT, FUEL, undefined, roomy);
    return { s, memories: roomy.handed.slice(from) };
  };
  const grown = instance();
  assert.ok(grown.s.call("grow:4000000", FUEL, 1 << 20).ok && grown.memories[main]!.buffer.byteLength > engineBytes, "the instance grew its memory");
  grown.s.release(true);
  assert.is(roomy.stats().keptBytes, 0, "a grown memory given back whole is not kept");
  const [one, two] = [instance(), instance()];
  one.s.release(true);
  two.s.release(true);
  assert.is(roomy.stats().keptBytes, engineBytes, "one whole memory kept per shape, the second left");
  const again = instance();
  assert.ok(again.memories[main] === one.memories[main], "the kept one is the first given back");

  // Given back whole, then the worker is quiet: upkeep drops it and makes a lean one ahead.
  const quiet = dirtied();
  quiet.s.release(true);
  assert.is(keptEngine(), engineBytes);
  while (pool.tidy());
  assert.is(keptEngine(), engineBytes, "one engine memory kept: the lean one made ahead (checked below)");
  const later = next();
  assert.ok(later.memories[main] !== quiet.memories[main], "a quiet pool dropped the whole memory");
  assert.not.ok(Buffer.from(later.memories[main]!.buffer).includes(secret));
  assert.is(keptEngine(), 0, "nothing is left counted");
});

test.run();
