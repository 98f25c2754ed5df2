// Checks a component before anything of it runs: size and shape limits, and that it imports
// nothing outside solo:agent/*. Returns the core module Solo runs. Cheap: O(size), no compile.
import { SoloError } from "../errors.ts";
import { readComponent } from "./component.ts";
import { formatType, readModuleInfo, sameType, type ModuleInfo } from "./module-info.ts";
import { exportSignatures } from "./component-types.ts";
import { LIFECYCLE_EXPORTS, LIFECYCLE_SIGNATURES, WORLD_EXPORTS, WORLD_IMPORTS, worldInterface, type LifecycleExport } from "./world.ts";

export interface InspectLimits {
  maxComponentBytes: number;
  maxFunctions: number;
  maxMemories: number;
  maxTables: number;
  maxDataSegments: number;
  /** Largest initial memory a module may declare, in bytes. */
  maxInitialMemoryBytes: number;
  maxNestingDepth: number;
}

export const DEFAULT_INSPECT_LIMITS: InspectLimits = {
  maxComponentBytes: 32 * 1024 * 1024,
  maxFunctions: 50_000,
  maxMemories: 1,
  maxTables: 4,
  maxDataSegments: 10_000,
  maxInitialMemoryBytes: 64 * 1024 * 1024,
  maxNestingDepth: 4,
};

/**
 * A checked component. "core": one core module implements the world and Solo binds it directly.
 * "glue": the world is implemented by several (nested) core modules, wired by jco's glue.
 * `lifecycle`: the optional exports it has (health, migrate), sorted.
 */
export type Inspected =
  | { kind: "core"; module: Uint8Array; info: ModuleInfo; stringEncoding: "utf8" | "utf16"; interfaces: string[]; lifecycle: LifecycleExport[] }
  | { kind: "glue"; interfaces: string[]; lifecycle: LifecycleExport[] };

function refuse(message: string, details: Record<string, unknown>): never {
  throw new SoloError("VALIDATION_FAILED", message, details);
}

export function inspectComponent(bytes: Uint8Array, limits: InspectLimits = DEFAULT_INSPECT_LIMITS): Inspected {
  if (bytes.length > limits.maxComponentBytes) {
    refuse(`component is ${bytes.length} bytes; the limit is ${limits.maxComponentBytes}`, { item: "component", limit: "maxComponentBytes", value: bytes.length, max: limits.maxComponentBytes });
  }
  let component;
  try {
    component = readComponent(bytes);
  } catch (err) {
    refuse(`not a valid WebAssembly component: ${(err as Error).message}`, { item: "component" });
  }
  if (component.nestingDepth > limits.maxNestingDepth) {
    refuse(`components nest ${component.nestingDepth} deep; the limit is ${limits.maxNestingDepth}`, { item: "component", limit: "maxNestingDepth", value: component.nestingDepth, max: limits.maxNestingDepth });
  }
  for (const name of component.imports) {
    if (name !== "solo:agent/types@0.1.0" && !worldInterface(name)) {
      refuse(`component imports "${name}"; a service may import only solo:agent/* interfaces (log, kv, clock, random, secrets, services, events)`, { item: name, limit: "imports" });
    }
  }
  const interfaces = component.imports.map((n) => worldInterface(n)).filter((n): n is string => !!n).sort();
  if (!component.exports.includes("handle")) {
    refuse(`component does not export "handle"; it must target the solo:agent/service world (export handle: func(request: string) -> result<string, string>)`, { item: "handle", limit: "exports" });
  }
  if (component.stringEncoding === "latin1+utf16") {
    refuse("component uses the latin1+utf16 string encoding; Solo runs utf8 or utf16 components", { item: "string-encoding" });
  }
  const read = component.coreModules.map((m) => ({ m, info: safeInfo(m) }));
  const unreadable = read.find((c) => c.info instanceof Error);
  if (unreadable) refuse(`a core module of the component cannot be read: ${(unreadable.info as Error).message}`, { item: "core-modules" });
  const lifecycle = LIFECYCLE_EXPORTS.filter((name) => component.exports.includes(name));
  const candidates = (read as { m: Uint8Array; info: ModuleInfo }[]).filter((c) => c.info.exports.some((e) => e.name === "handle"));
  // A glue component's exports are lifted inside nested components; only Solo's own builds
  // (from the world's WIT) run as glue, so their signatures are not read again here.
  if (candidates.length === 0 && component.nestingDepth > 0) return { kind: "glue", interfaces, lifecycle };
  if (candidates.length !== 1 || !candidates[0]!.info) {
    refuse(`expected exactly one core module exporting "handle", found ${candidates.length}`, { item: "core-modules" });
  }
  const { m: module, info } = candidates[0] as { m: Uint8Array; info: ModuleInfo };
  checkLifecycleTypes(bytes, lifecycle);
  checkModule(info, limits, lifecycle);
  return { kind: "core", module, info, stringEncoding: component.stringEncoding === "utf8" ? "utf8" : "utf16", interfaces, lifecycle };
}

/**
 * Solo binds a core component's optional exports itself, trusting their lowering, so their
 * component-level types must be exactly the world's (`-> u32` lowers like `-> result<_, string>`).
 */
function checkLifecycleTypes(bytes: Uint8Array, lifecycle: readonly LifecycleExport[]): void {
  if (lifecycle.length === 0) return;
  const found = exportSignatures(bytes, lifecycle);
  for (const name of lifecycle) {
    const expected = LIFECYCLE_SIGNATURES[name].wit;
    const actual = found.has(name) ? found.get(name) : "something other than a function";
    if (actual !== LIFECYCLE_SIGNATURES[name].type) {
      const what = actual === undefined ? "a function whose type Solo cannot read" : actual;
      refuse(`component exports "${name}" as ${what}; the optional export must be ${expected}`, { item: name, limit: "exports", expected });
    }
  }
}

function safeInfo(m: Uint8Array): ModuleInfo | Error {
  try {
    return readModuleInfo(m);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Checks a core module against the world's ABI and the shape limits; returns interfaces used. */
export function checkModule(info: ModuleInfo, limits: InspectLimits = DEFAULT_INSPECT_LIMITS, lifecycle: readonly LifecycleExport[] = []): string[] {
  const used = new Set<string>();
  for (const imp of info.imports) {
    const iface = worldInterface(imp.module);
    const expected = iface ? WORLD_IMPORTS[iface]?.[imp.name] : undefined;
    if (!iface || !expected || imp.kind !== "function") {
      refuse(`module imports "${imp.module}#${imp.name}", which is not part of the solo:agent world`, { item: `${imp.module}#${imp.name}`, limit: "imports" });
    }
    if (!sameType(imp.type, expected)) {
      refuse(`import "${imp.module}#${imp.name}" has type ${formatType(imp.type)}; the world lowers it to ${formatType(expected)}`, { item: `${imp.module}#${imp.name}`, limit: "imports" });
    }
    used.add(iface);
  }
  for (const [name, type] of Object.entries(WORLD_EXPORTS)) {
    const exp = info.exports.find((e) => e.name === name);
    if (!exp || exp.kind !== "function" || !sameType(exp.type, type)) {
      refuse(`module must export function "${name}" of type ${formatType(type)}`, { item: name, limit: "exports" });
    }
  }
  for (const name of lifecycle) {
    const type = LIFECYCLE_SIGNATURES[name].core;
    const exp = info.exports.find((e) => e.name === name);
    if (!exp || exp.kind !== "function" || !sameType(exp.type, type)) {
      refuse(`the component exports "${name}", so its module must export function "${name}" of type ${formatType(type)} (${LIFECYCLE_SIGNATURES[name].wit})`, { item: name, limit: "exports", expected: LIFECYCLE_SIGNATURES[name].wit });
    }
  }
  if (!info.exports.some((e) => e.name === "memory" && e.kind === "memory")) refuse(`module must export its memory as "memory"`, { item: "memory", limit: "exports" });
  checkShape(info, limits);
  return [...used].sort();
}

/** Size and shape limits of one core module (any module a component runs). */
export function checkShape(info: ModuleInfo, limits: InspectLimits = DEFAULT_INSPECT_LIMITS): void {
  const count = (item: string, value: number, max: number, limit: string) => {
    if (value > max) refuse(`module has ${value} ${item}; the limit is ${max}`, { item, limit, value, max });
  };
  count("functions", info.functions, limits.maxFunctions, "maxFunctions");
  count("memories", info.memories.length, limits.maxMemories, "maxMemories");
  count("tables", info.tables, limits.maxTables, "maxTables");
  count("data segments", info.dataSegments, limits.maxDataSegments, "maxDataSegments");
  for (const mem of info.memories) {
    count("bytes of initial memory", mem.initialPages * 65536, limits.maxInitialMemoryBytes, "maxInitialMemoryBytes");
  }
}
