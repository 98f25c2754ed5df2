// The function and global exports of a plan's core modules that nothing reads, dropped from the
// metered bytes. V8 makes a function object for every exported function at each instantiation
// (a QuickJS guest's modules export ~180, the WASI adapter alone ~60, of which the plan wires
// ~70): each costs the worker time on every instantiation and nothing else. Only the export
// section changes, after metering: no function, global or type index moves, the code is the
// metered code byte for byte (a function that is no longer exported keeps its entry wrapper, now
// unreachable), so fuel is what it was. Build-time, O(bytes), one copy per pruned module.
import { Reader, concat, encodeU32, sections } from "./binary.ts";
import type { ComponentPlan, PlanItem, PlanLift } from "./component-plan.ts";
import { FUEL_GLOBAL, GROW_FAILED_GLOBAL, INSTANTIATE_FUEL_GLOBAL, MEMORY_BUDGET_GLOBAL, START_EXPORT } from "./meter.ts";
import { readModuleInfo } from "./module-info.ts";

/** Exports the meter adds, which the runner reads (startInstance, Counters.of): always kept. */
const METER_EXPORTS: ReadonlySet<string> = new Set([FUEL_GLOBAL, MEMORY_BUDGET_GLOBAL, GROW_FAILED_GLOBAL, INSTANTIATE_FUEL_GLOBAL, START_EXPORT]);

const EXPORT_SECTION = 7;
const ELEMENT_SECTION = 9;
/** Sections that must come after the element section (data count, code, data). */
const AFTER_ELEMENTS: ReadonlySet<number> = new Set([12, 10, 11]);
/** A declarative element segment of function indices (flags 3, elemkind funcref). */
const DECLARE_FUNCS = [0x03, 0x00];
const KIND = { function: 0x00, global: 0x03 } as const;

/**
 * The export names each core module (by index in walkCoreModules order) must keep for `plan`:
 * every export an item of the plan names (imports, lowerings' memory and realloc, lifts, their
 * realloc and post-return), and every import a module takes from a whole instance passed to it
 * (`{t: "step"}`: the importer reads that instance's exports by its own import names).
 * `modules` are the component's core modules as walked (their imports are what the plan links).
 */
export function usedExports(plan: ComponentPlan, modules: readonly Uint8Array[]): Set<string>[] {
  const used = modules.map(() => new Set<string>());
  const moduleOf = (step: number) => {
    const s = plan.steps[step];
    if (!s) throw new RangeError(`the plan names step ${step}, which it does not have`);
    return s.module;
  };
  const item = (i: PlanItem | undefined): void => {
    if (!i) return;
    if (i.t === "export") used[moduleOf(i.step)]!.add(i.name);
    else if (i.t === "host") {
      item(i.opts.memory);
      item(i.opts.realloc);
    }
  };
  const lift = (l: PlanLift | undefined): void => {
    if (!l) return;
    item(l.func);
    item(l.memory);
    item(l.realloc);
    item(l.postReturn);
  };
  const imports = new Map<number, ReturnType<typeof readModuleInfo>["imports"]>();
  for (const step of plan.steps) {
    for (const [name, arg] of Object.entries(step.args)) {
      if (arg.t === "bag") {
        for (const i of Object.values(arg.items)) item(i);
        continue;
      }
      let own = imports.get(step.module);
      if (!own) imports.set(step.module, (own = readModuleInfo(modules[step.module]!).imports));
      const from = used[moduleOf(arg.step)]!;
      for (const imp of own) if (imp.module === name) from.add(imp.name);
    }
  }
  lift(plan.handle);
  lift(plan.health);
  lift(plan.migrate);
  return used;
}

/**
 * `module` without the function and global exports `keep` does not name (the meter's own are
 * always kept; memories, tables and tags always stay); undefined when it would drop none.
 *
 * An export also declares its function for `ref.func` in code (the meter points both at the same
 * entry wrapper), so the functions whose exports go are declared again in one declarative element
 * segment, appended after the module's own (no segment index moves): a module valid before stays
 * valid, whatever its code refers to.
 */
export function pruneExports(module: Uint8Array, keep: ReadonlySet<string>): { bytes: Uint8Array<ArrayBuffer>; dropped: number } | undefined {
  const all = sections(module);
  const sec = all.find((s) => s.id === EXPORT_SECTION);
  if (!sec) return undefined;
  const r = new Reader(module, sec.start, sec.end);
  const kept: Uint8Array[] = [];
  const droppedFuncs: number[] = [];
  let dropped = 0;
  for (let n = r.u32(), i = 0; i < n; i++) {
    const at = r.pos;
    const name = r.name();
    const kind = r.byte();
    const index = r.u32();
    const prunable = kind === KIND.function || kind === KIND.global;
    if (prunable && !keep.has(name) && !METER_EXPORTS.has(name)) {
      dropped++;
      if (kind === KIND.function) droppedFuncs.push(index);
    } else kept.push(module.subarray(at, r.pos));
  }
  if (dropped === 0) return undefined;
  const body = concat([encodeU32(kept.length), ...kept]);
  const exportsDone = concat([module.subarray(0, sec.headerStart), [EXPORT_SECTION, ...encodeU32(body.length)], body, module.subarray(sec.end)]);
  return { bytes: droppedFuncs.length ? declareFunctions(exportsDone, droppedFuncs) : exportsDone, dropped };
}

/** `module` with one more element segment, declarative, naming `funcs` (so `ref.func` may name them). */
function declareFunctions(module: Uint8Array, funcs: number[]): Uint8Array<ArrayBuffer> {
  const segment = [...DECLARE_FUNCS, ...encodeU32(funcs.length), ...funcs.flatMap(encodeU32)];
  const all = sections(module);
  const elements = all.find((s) => s.id === ELEMENT_SECTION);
  if (elements) {
    const r = new Reader(module, elements.start, elements.end);
    const count = r.u32();
    const body = concat([encodeU32(count + 1), module.subarray(r.pos, elements.end), segment]);
    return concat([module.subarray(0, elements.headerStart), [ELEMENT_SECTION, ...encodeU32(body.length)], body, module.subarray(elements.end)]);
  }
  // None yet: a new section before the first that must follow it (or at the end).
  const at = all.find((s) => AFTER_ELEMENTS.has(s.id))?.headerStart ?? module.length;
  const body = concat([encodeU32(1), segment]);
  return concat([module.subarray(0, at), [ELEMENT_SECTION, ...encodeU32(body.length)], body, module.subarray(at)]);
}
