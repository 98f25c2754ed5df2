// A TypeScript/JavaScript guest's component, pre-initialised by Solo itself. componentize-qjs
// builds every component by running the QuickJS engine in wasmtime (Wizer): ~0.9 s per build,
// nearly all of it Cranelift compiling the same engine again. Here componentize-qjs builds a
// *loader* once per world (the interfaces a guest imports, its optional exports): a QuickJS
// component whose handle evaluates the first request it gets as the guest's bundle, then serves
// every later request from the guest. A build then runs the loader in V8 from Solo's own plan
// (the runner the worker uses, metered), hands it the guest's bundle, and writes the state it
// stopped in (its memory, its mutable globals) back into its core modules
// (wasm/module-snapshot.ts): the guest's component. It starts, like Wizer's, with the guest's
// top-level code already run, and never evaluates text again (the first request was the load).
//
// Cost: the first build of a world ~1.1 s (componentize, then metering the engine ~0.15 s), kept
// for the process; each build after ~20-40 ms (instantiate, evaluate the bundle, snapshot).
// Top-level code that calls the host (console.log, Date.now, kv ...) cannot run at build time,
// as with Wizer; here it fails with COMPILE_ERROR naming the call and the guest's line.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { componentize } from "componentize-qjs";
import { SoloError, type Diagnostic } from "../errors.ts";
import { formatBytes } from "../build/build-failures.ts";
import { DEFAULT_INSPECT_LIMITS, DEFAULT_METER_SETTINGS, LIFECYCLE_SIGNATURES, METER_VERSION, ensureWasmFeatures, meter, planComponent, type ComponentPlan, type LifecycleExport } from "../wasm/index.ts";
import { sections } from "../wasm/binary.ts";
import { replaceCoreModules, walkCoreModules } from "../wasm/component.ts";
import { importMemory, importedMemoryShape, type MemoryShape } from "../wasm/import-memory.ts";
import { applySnapshot, exposeState, readState, snapshotRuns, SnapshotUnsupported, type ModuleState, type StateShape } from "../wasm/module-snapshot.ts";
import { JS_STACK_MARKER, type StoredSourceMap } from "../wasm/source-map.ts";
import { ComponentSandbox } from "../runtime/component-sandbox.ts";
import { MemoryPool } from "../runtime/memory-pool.ts";
import { fail, type GuestEnv } from "../runtime/guest-env.ts";
import type { CompileLimits } from "./index.ts";
import { packageVersion } from "./key.ts";
import { witSource } from "./wit.ts";

/** Fuel the guest's top-level code may use at build time ("topLevelFuel": ~0.5-5 s of QuickJS). */
export const LOAD_FUEL = 10_000_000_000;
/** buildMemoryBytes when the host gives none (DEFAULT_BUILD_LIMITS). */
const DEFAULT_BUILD_MEMORY_BYTES = 2 * 1024 ** 3;
/** The most a guest's memory may grow to (the meter's maxMemoryPages). */
const MAX_GUEST_MEMORY_BYTES = DEFAULT_METER_SETTINGS.maxMemoryPages * 65536;

const specifier = (name: string) => `solo:agent/${name}@0.1.0`;

/**
 * The loader's source for a world. Its handle's first request is the guest's bundle, a function
 * expression (module, exports, require) whose require returns the world's interfaces; it is
 * evaluated once, at build time, and `loaded` is true in every snapshot made after.
 */
export function loaderSource(interfaces: readonly string[], lifecycle: readonly LifecycleExport[]): string {
  const imports = interfaces.map((name, i) => `import * as i${i} from ${JSON.stringify(specifier(name))};`);
  const table = interfaces.map((name, i) => `${JSON.stringify(specifier(name))}: i${i}`).join(", ");
  return `${imports.join("\n")}
const interfaces = { ${table} };
let guest;
let loaded = false;
function load(bundle) {
  const factory = (0, globalThis.eval)(bundle);
  const module = { exports: {} };
  factory.call(undefined, module, module.exports, (name) => {
    const found = interfaces[name];
    if (!found) throw new Error("the guest's bundle requires " + name + ", which this world does not import");
    return found;
  });
  guest = module.exports;
}
export function handle(request) {
  if (loaded) return guest.handle(request);
  loaded = true;
  try {
    load(request);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const stack = e instanceof Error && typeof e.stack === "string" ? e.stack : "";
    throw new Error(stack ? message + ${JSON.stringify(JS_STACK_MARKER)} + stack : message);
  }
  return "";
}
${lifecycle.includes("health") ? "export function health() {\n  guest.health();\n}\n" : ""}${lifecycle.includes("migrate") ? "export function migrate(fromVersion) {\n  guest.migrate(fromVersion);\n}\n" : ""}`;
}

/** The world a build targets: the solo:agent interfaces the bundle calls, and the guest's exports. */
export function guestWorld(interfaces: readonly string[], lifecycle: readonly LifecycleExport[]): string {
  return [
    "world solo-guest {",
    ...interfaces.map((name) => `  import ${name};`),
    "  export handle: func(request: string) -> result<string, string>;",
    ...lifecycle.map((name) => `  export ${LIFECYCLE_SIGNATURES[name].wit};`),
    "}",
  ].join("\n");
}

/** The line before the bundle in what the loader evaluates. */
const PROLOGUE = '(function (module, exports, require) {"use strict";\n';
const EPILOGUE = "\n})";

/**
 * The bundle's map for the code QuickJS runs: one line (PROLOGUE's) before the bundle's. The
 * component carries this one: every stack, at build time or in a call, has its lines.
 */
export function evaluatedMap(map: StoredSourceMap): StoredSourceMap {
  return { ...map, mappings: `;${map.mappings}` };
}

interface Loader {
  component: Uint8Array;
  /** Its core modules as built, and what a snapshot reads of each. */
  walked: Uint8Array[];
  shapes: StateShape[];
  plan: ComponentPlan;
  modules: WebAssembly.Module[];
}

const loaders = new Map<string, Promise<Loader>>();
/** Worlds whose loader a builder keeps ready (of up to 512: 7 interfaces, 2 optional exports). */
const MAX_LOADERS = 8;

type Keep = NonNullable<CompileLimits["kept"]>;
const inMemory: Keep = async (_key, make) => make();

/**
 * The loader for a world: prepared once per process and store (`keptIn`: a builder taken over by
 * another host may build for another cache directory), its component and metered modules kept by `kept`.
 */
function loaderFor(interfaces: readonly string[], lifecycle: readonly LifecycleExport[], kept: Keep = inMemory, keptIn = ""): Promise<Loader> {
  const key = `${interfaces.join(",")}|${lifecycle.join(",")}|${keptIn}`;
  let found = loaders.get(key);
  if (found) loaders.delete(key); // kept most recent last
  else found = prepareLoader(interfaces, lifecycle, kept);
  loaders.set(key, found);
  found.catch(() => loaders.delete(key));
  // A world's prepared loader holds its compiled engine (~10 MB): the least recently used go.
  while (loaders.size > MAX_LOADERS) loaders.delete(loaders.keys().next().value!);
  return found;
}

const hash = (...parts: (string | Uint8Array)[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
};

async function prepareLoader(interfaces: readonly string[], lifecycle: readonly LifecycleExport[], kept: Keep): Promise<Loader> {
  ensureWasmFeatures(); // the engine's modules use extended-const
  const world = guestWorld(interfaces, lifecycle);
  const source = loaderSource(interfaces, lifecycle);
  const component = await kept(hash("quickjs-loader", packageVersion("componentize-qjs"), witSource(), world, source), () => buildLoader(world, source));
  const walked = walkCoreModules(component).map((m) => m.slice());
  const plan = planComponent(component, walked);
  const exposed = walked.map(exposeState);
  const memories: Record<number, MemoryShape> = {};
  const modules: WebAssembly.Module[] = [];
  for (const [i, { bytes }] of exposed.entries()) {
    // Metered as the worker's modules are (shared counters, memory from the pool); ~0.2-0.4 s for the engine.
    const ready = await kept(hash("quickjs-loader-module", METER_VERSION, bytes), () => {
      const metered = meter(bytes, { ...DEFAULT_METER_SETTINGS, sharedCounters: true }).bytes;
      return importMemory(metered)?.bytes ?? metered;
    });
    const shape = importedMemoryShape(ready);
    if (shape) memories[i] = shape;
    modules.push(new WebAssembly.Module(ready as Uint8Array<ArrayBuffer>));
  }
  if (Object.keys(memories).length > 0) plan.memories = memories;
  return { component, walked, shapes: exposed.map((e) => e.shape), plan, modules };
}

/** componentize-qjs builds the loader (~1 s: Wizer, the engine compiled by Cranelift). */
async function buildLoader(world: string, source: string): Promise<Uint8Array> {
  // componentize-qjs reads the WIT from a path: the package plus this world, in a directory of its own.
  const dir = mkdtempSync(join(tmpdir(), "solo-wit-"));
  try {
    const witPath = join(dir, "solo.wit");
    writeFileSync(witPath, `${witSource()}\n${world}\n`);
    return new Uint8Array((await componentize({ witPath, jsSource: source, world: "solo-guest", sync: true, stubWasi: true })).component);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What the guest's top-level code asked of the host at build time: nothing is answered. Calls
 * with a result get an error (the guest-sdk throws it, so the failure has the guest's line);
 * log, clock and random have none, so they trap. Any call fails the build, caught or not.
 */
function buildEnv(): { env: GuestEnv; called: string[] } {
  const called: string[] = [];
  const unanswered = (what: string) => `${what} was called while the service was being built`;
  const trap = (what: string) => (): never => {
    called.push(what);
    throw new Error(unanswered(what));
  };
  const refuse = (what: string) => () => {
    called.push(what);
    return fail<never>("unavailable", unanswered(what));
  };
  const env: GuestEnv = {
    log: trap("log (console.log and its kin)"),
    kvGet: refuse("kv.get"),
    kvSet: refuse("kv.set"),
    kvDelete: refuse("kv.delete"),
    kvKeys: refuse("kv.keys"),
    kvCount: () => 0,
    secretGet: refuse("secrets.get"),
    serviceCall: refuse("services.call"),
    emit: refuse("events.emit"),
    nextU64: trap("random (Math.random)"),
    nowMs: trap("clock.now (Date)"),
    monotonicNs: trap("clock.monotonic"),
    randomFill: trap("random (Math.random)"),
  };
  return { env, called };
}

/**
 * The guest's component: `bundle` is its CommonJS bundle (esbuild's), `map` its map (evaluatedMap's),
 * `interfaces` the solo:agent interfaces it requires. COMPILE_ERROR when its top-level code fails.
 * limits.memoryBytes: buildMemoryBytes. The guest's memory may grow to half of it while its
 * top-level code runs (the builder process needs the rest), so the load stops there, inside the
 * sandbox, before the builder's own watch on the process would kill it.
 */
export async function snapshotGuest(bundle: string, map: StoredSourceMap, file: string, interfaces: readonly string[], lifecycle: readonly LifecycleExport[], limits: CompileLimits = {}): Promise<Uint8Array<ArrayBuffer>> {
  const buildMemory = limits.memoryBytes ?? DEFAULT_BUILD_MEMORY_BYTES;
  const memoryLimit = Math.min(MAX_GUEST_MEMORY_BYTES, Math.floor(buildMemory / 2));
  const loader = await loaderFor(interfaces, lifecycle, limits.kept, limits.keptIn);
  const { env, called } = buildEnv();
  // The stack of a failing top-level statement is mapped like a call's.
  const source = { file, sourceMap: JSON.stringify(map) };
  let sandbox: ComponentSandbox;
  try {
    sandbox = new ComponentSandbox(loader.plan, loader.modules, env, memoryLimit, LOAD_FUEL, source, new MemoryPool({ perShape: 0 }));
  } catch (err) {
    throw new SoloError("INTERNAL", `the QuickJS loader did not start: ${(err as Error).message}`);
  }
  try {
    const tables = tableSizes(sandbox.coreExports());
    const out = sandbox.call(`${PROLOGUE}${bundle}${EPILOGUE}`, LOAD_FUEL, 1 << 20);
    if (!out.ok || called.length > 0) throw loadFailure(out.ok ? { code: "GUEST_ERROR", message: "" } : out, called, file, { memoryLimit, buildMemory });
    const instances = sandbox.coreExports();
    if (tableSizes(instances) !== tables) throw new SnapshotUnsupported("a table changed size while the guest loaded");
    // Every module's state is read and checked before anything is copied: a top-level memory
    // too large to start from is refused while it is the only copy.
    const states = new Map<number, ModuleState>();
    let memoryBytes = 0;
    let dataBytes = 0;
    loader.shapes.forEach((shape, i) => {
      if (shape.globals.length === 0 && !shape.memory) return;
      const exports = instances.get(i);
      if (!exports) throw new SnapshotUnsupported(`core module ${i} is instantiated more than once`);
      const state = readState(shape, exports);
      // A memory the load left all zero (the WASI adapters' own, which nothing uses) is left as it was.
      if (state.memory && isZero(state.memory) && !hasData(loader.walked[i]!)) delete state.memory;
      if (state.memory) {
        memoryBytes += state.memory.length;
        if (memoryBytes > DEFAULT_INSPECT_LIMITS.maxInitialMemoryBytes) throw tooLarge("memory", memoryBytes, file);
        state.runs = snapshotRuns(state.memory);
        for (const [start, end] of state.runs) dataBytes += end - start;
      }
      if (state.globals.size > 0 || state.memory) states.set(i, state);
    });
    if (loader.component.length + dataBytes > DEFAULT_INSPECT_LIMITS.maxComponentBytes) {
      const counted = [...states.values()].map((s) => (s.memory ? countNonZero(s.memory) : { bytes: 0, regions: 0 }));
      const nonZero = counted.reduce((n, c) => n + c.bytes, 0);
      const regions = counted.reduce((n, c) => n + c.regions, 0);
      throw tooLarge(dataBytes > 2 * nonZero ? { regions } : "data", loader.component.length + dataBytes, file);
    }
    const replaced = new Map<number, Uint8Array>();
    for (const [i, state] of states) replaced.set(i, applySnapshot(loader.walked[i]!, state));
    return replaceCoreModules(loader.component, replaced);
  } catch (err) {
    if (err instanceof SnapshotUnsupported) throw new SoloError("INTERNAL", `the guest's component could not be written: ${err.message}`);
    throw err;
  } finally {
    sandbox.release();
  }
}

/**
 * The component's checks (wasm/inspect.ts) would refuse a snapshot past their limits as if the
 * agent had sent it; said here in terms of what the top-level code did. `what`: the memory's size,
 * the data's, or data spread over so many regions that the zeros between them are most of it.
 */
function tooLarge(what: "memory" | "data" | { regions: number }, bytes: number, file: string): SoloError {
  const { maxInitialMemoryBytes, maxComponentBytes } = DEFAULT_INSPECT_LIMITS;
  const fix = "Build large data inside handle, where limits.memoryBytes applies";
  const message = what === "memory"
    ? `the guest's top-level code left its memory at ${formatBytes(bytes)}; a service may start with at most ${formatBytes(maxInitialMemoryBytes)} (maxInitialMemoryBytes). ${fix}`
    : what === "data"
      ? `the guest's top-level code left so much data in memory that its component is ${formatBytes(bytes)}; a component may be at most ${formatBytes(maxComponentBytes)} (maxComponentBytes). ${fix}`
      : `the guest's top-level code left data in ${what.regions} separate regions of memory, too many to keep apart: with the space between them its component is ${formatBytes(bytes)}; a component may be at most ${formatBytes(maxComponentBytes)} (maxComponentBytes). ${fix}`;
  const limit = what === "memory" ? { limit: "maxInitialMemoryBytes", max: maxInitialMemoryBytes } : { limit: "maxComponentBytes", max: maxComponentBytes };
  return new SoloError("COMPILE_ERROR", message, { ...limit, diagnostics: [{ file, line: 1, column: 1, message }] });
}

/** The non-zero bytes of `memory` and the separate runs they make. */
function countNonZero(memory: Uint8Array): { bytes: number; regions: number } {
  let bytes = 0;
  let regions = 0;
  let inside = false;
  for (let i = 0; i < memory.length; i++) {
    const nz = memory[i] !== 0;
    if (nz) bytes++;
    if (nz && !inside) regions++;
    inside = nz;
  }
  return { bytes, regions };
}

function loadFailure(out: { code: string; message: string; details?: Record<string, unknown> }, called: string[], file: string, memory: { memoryLimit: number; buildMemory: number }): SoloError {
  const frames = (out.details?.stack as { file: string; line: number; column: number }[] | undefined) ?? [];
  const at = frames.find((f) => f.file === file);
  const where = at ? `${at.file}:${at.line}:${at.column}: ` : "";
  let message: string;
  if (called.length > 0) message = `the guest's top-level code called ${called[0]} while the service was being built; the host answers only inside handle (move the call there)`;
  else if (out.code === "FUEL_EXHAUSTED") {
    message = `the build was stopped: top-level code runs once at build time; it used more than ${LOAD_FUEL.toLocaleString("en-US")} fuel (topLevelFuel). Make the top-level code finish quickly and do the work inside handle instead`;
    return new SoloError("COMPILE_ERROR", message, { limit: "topLevelFuel", max: LOAD_FUEL, diagnostics: [{ file, line: 1, column: 1, message }] });
  }
  else if (out.code === "MEMORY_LIMIT") {
    // The same answer as when the builder process itself passes buildMemoryBytes (build/build-failures.ts).
    const { memoryLimit, buildMemory } = memory;
    const why = memoryLimit < Math.floor(buildMemory / 2) ? "the most a guest's memory may grow to" : `half of buildMemoryBytes, ${formatBytes(buildMemory)}`;
    message = `the build was stopped: top-level code runs once at build time; it used more than ${formatBytes(memoryLimit)} of memory (${why}). Allocate less at the top level: build large data inside handle, where limits.memoryBytes applies`;
    return new SoloError("COMPILE_ERROR", message, { limit: "buildMemoryBytes", max: buildMemory, diagnostics: [{ file, line: 1, column: 1, message }] });
  }
  else message = `the guest's top-level code failed while the service was being built: ${out.message.replace(/^[^:]*:\d+:\d+ \([^)]*\): /, "")}`;
  const diagnostic: Diagnostic = { file: at?.file ?? file, line: at?.line ?? 1, column: at?.column ?? 1, message };
  return new SoloError("COMPILE_ERROR", `${where}${message}`, { diagnostics: [diagnostic] });
}

/** The sizes of every table an instance exports, as one string to compare. */
function tableSizes(instances: Map<number, WebAssembly.Exports>): string {
  const sizes: string[] = [];
  for (const [i, exports] of instances) for (const [name, v] of Object.entries(exports)) if (v instanceof WebAssembly.Table) sizes.push(`${i}.${name}=${v.length}`);
  return sizes.join(",");
}

function isZero(bytes: Uint8Array): boolean {
  const words = new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0n) return false;
  return true;
}

/** The module has active data of its own (a data section with a segment). */
function hasData(module: Uint8Array): boolean {
  return sections(module).some((s) => s.id === 11 && s.end > s.start + 1);
}
