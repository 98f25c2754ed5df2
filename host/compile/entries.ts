// The generated entry sources and compiler flags. They decide a build's output, so they are part
// of the compile key; they live apart from the compilers so the host can hash them without
// loading asc (~1.5 s) or componentize-qjs.
//
// A guest that exports `health` and/or `migrate` gets an entry that exports them too, and is
// built for the world with exactly those exports (wasm/world.ts `worldFor`); which it has is read
// from its source, so the entry depends on nothing but the source (already in the key).
import type { LifecycleExport } from "../wasm/index.ts";
import { JS_STACK_MARKER } from "../wasm/source-map.ts";

/** The AssemblyScript entry: the world's core ABI around the guest's `handle` (and `health`, `migrate`). */
export function asEntry(lifecycle: readonly LifecycleExport[]): string {
  const health = lifecycle.includes("health");
  const migrate = lifecycle.includes("migrate");
  const guest = ["handle as guestHandle", ...(health ? ["health as guestHealth"] : []), ...(migrate ? ["migrate as guestMigrate"] : [])];
  return `import { ${guest.join(", ")} } from "./service";
import { liftString, returnResult${health || migrate ? ", returnUnitResult" : ""} } from "solo/abi";
export { cabi_realloc } from "solo/abi";
export function handle(ptr: usize, len: i32): usize {
  return returnResult(guestHandle(liftString(ptr, len)));
}
${health ? `// health(): string | null: null when fit to serve, else why not.
export function health(): usize {
  return returnUnitResult(guestHealth());
}
` : ""}${migrate ? `// migrate(fromVersion: u32): string | null: null when done, else why it failed.
export function migrate(fromVersion: u32): usize {
  return returnUnitResult(guestMigrate(fromVersion));
}
` : ""}`;
}

/** The entry of a guest without optional exports. */
export const AS_ENTRY = asEntry([]);

/**
 * The AssemblyScript compiler flags. --sourceMap and --debug (the name section) let a trap name
 * the guest's line and function; neither changes the code asc emits.
 */
export const ASC_FLAGS = [
  "-O3", "--runtime", "incremental", "--sourceMap", "--debug",
  "--use", "abort=~lib/solo/abi/soloAbort", "--use", "trace=~lib/solo/abi/soloTrace", "--use", "seed=~lib/solo/abi/soloSeed",
];

// The TS/JS bundle's entry wraps the guest's handle so a wrong return type is a clear
// GUEST_ERROR (QuickJS would otherwise trap while lifting it); health and migrate return nothing
// (a throw is their failure), and an async one is refused the same way. What the guest throws
// goes to the host as its message, then JS_STACK_MARKER and its QuickJS stack (positions in the
// bundle; the host maps them to the guest's source): QuickJS would pass on the message alone.
export function jsEntry(lifecycle: readonly LifecycleExport[]): string {
  const health = lifecycle.includes("health");
  const migrate = lifecycle.includes("migrate");
  const guest = ["handle as guestHandle", ...(health ? ["health as guestHealth"] : []), ...(migrate ? ["migrate as guestMigrate"] : [])];
  return `import { ${guest.join(", ")} } from "guest:main";
function thrown(e) {
  const message = e instanceof Error ? e.message : String(e);
  const stack = e instanceof Error && typeof e.stack === "string" ? e.stack : "";
  return new Error(stack ? message + ${JSON.stringify(JS_STACK_MARKER)} + stack : message);
}
export function handle(request) {
  let out;
  try {
    out = guestHandle(request);
  } catch (e) {
    throw thrown(e);
  }
  if (typeof out === "string") return out;
  const what = out === undefined ? "undefined" : out instanceof Promise ? "a Promise (handle must not be async)" : typeof out;
  throw new Error("handle must return a string; it returned " + what);
}
${health || migrate ? `function unit(name, run) {
  let out;
  try {
    out = run();
  } catch (e) {
    throw thrown(e);
  }
  if (out instanceof Promise) throw new Error(name + " returned a Promise (" + name + " must not be async)");
}
` : ""}${health ? `export function health() {
  unit("health", () => guestHealth());
}
` : ""}${migrate ? `export function migrate(fromVersion) {
  // QuickJS receives a u32 as a signed i32: the version the guest sees is made unsigned here.
  unit("migrate", () => guestMigrate(fromVersion >>> 0));
}
` : ""}`;
}

/** The entry of a guest without optional exports. */
export const JS_ENTRY = jsEntry([]);

/**
 * The globals a TS/JS guest may use without importing them, each backed by an import: the
 * bundler injects the file (guest-sdk/js/globals/) only into a guest whose code mentions one of
 * its names, so a guest that never logs imports no log. `define` sends the spellings through
 * globalThis (and `Math.random`, a property) to the injected names.
 */
export const JS_GLOBALS: readonly { file: string; define: Record<string, string> }[] = [
  { file: "console.js", define: { "globalThis.console": "console" } },
  { file: "date.js", define: { "globalThis.Date": "Date" } },
  { file: "math-random.js", define: { "Math.random": "__soloMathRandom", "globalThis.Math.random": "__soloMathRandom" } },
];

/**
 * Bumped whenever how a guest's optional exports are found (assemblyScriptLifecycle,
 * javaScriptLifecycle) changes: it decides the entry and world, so it is part of the key.
 */
export const LIFECYCLE_DETECTION_VERSION = "1";
/** Bumped whenever what a build puts in SOURCE_MAP_SECTION changes: it is part of the component. */
export const SOURCE_MAP_VERSION = "4";

/**
 * Bumped whenever how a TS/JS build picks the interfaces its component imports changes (the
 * bundle's solo:agent imports, the world written for them: javascript.ts).
 */
export const JS_IMPORTS_VERSION = "1";

/**
 * Bumped whenever how a TS/JS component is made from its bundle changes (the CommonJS bundle, the
 * loader, the snapshot: quickjs-snapshot.ts).
 */
export const JS_SNAPSHOT_VERSION = "1";

const COMBINATIONS: LifecycleExport[][] = [[], ["health"], ["migrate"], ["health", "migrate"]];

/** Every entry either compiler may generate, for the compile key. */
export const AS_ENTRIES = [LIFECYCLE_DETECTION_VERSION, SOURCE_MAP_VERSION, ...COMBINATIONS.map(asEntry)].join("\0");
export const JS_ENTRIES = [LIFECYCLE_DETECTION_VERSION, SOURCE_MAP_VERSION, JS_IMPORTS_VERSION, JS_SNAPSHOT_VERSION, JSON.stringify(JS_GLOBALS), ...COMBINATIONS.map(jsEntry)].join("\0");
