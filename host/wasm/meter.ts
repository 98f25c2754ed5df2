// Fuel and memory metering by rewriting a core WebAssembly module. Cost model (docs/SECURITY.md
// has the whole table):
//
// - One fuel unit is one original instruction. The code of each function is cut into segments at
//   its entry, at every loop header, after every loop's `end` and after every call; a segment's
//   instructions are charged (both arms of an `if` included) when the segment starts, and the
//   counter is checked there. So every loop iteration and every call is charged and checked, the
//   fuel of a call depends only on the path it takes, and a guest stops before the segment that
//   would take the counter below zero.
// - Bulk instructions (memory.copy/fill/init, table.grow/fill/copy/init) longer than BULK_FREE are
//   charged by their length operand, checked before they run: 1 unit per 8 bytes of memory, per
//   table entry.
// - Leaves (no loop, no indirect or bulk work, only leaf callees, not exported) are charged at each
//   direct call or tail call site; tables and ref.func reach them through a wrapper that charges.
// - Instantiation (data segments, element segments, tables) costs what the exported constant
//   `solo_instantiate_fuel` says; the host charges it. The start function is not run by the engine:
//   the pass exports it as `solo_start`, and the host calls it with the service's own fuel and
//   memory budget in place, inside a deadline.
//
// Memory: every memory's declared maximum is capped, and each `memory.grow` is replaced by an
// inline check against `solo_memory_budget` (pages the guest may still add, shared by every module
// of a component); a refused grow sets `solo_grow_failed`, returns -1 as wasm would, and the host
// reports MEMORY_LIMIT from that flag whatever the guest does next. Tables are capped the same way.
//
// Safety: the module must pass V8's own validation first (so every index is in range before the
// pass trusts it), and `instructions.ts` refuses whatever the pass cannot charge exactly (threads,
// exception handling, typed references, GC, several memories, 64-bit memories), plus function
// bodies and nesting past a bound.
//
// Placement (see docs/ARCHITECTURE.md; it moves no fuel figure, only where the counter lives):
// - Threaded (the default): every function that is neither a leaf nor in a table / ref.func takes
//   the counter as an extra last i64 parameter and returns what is left as an extra last result,
//   so a call between such functions is two register moves, not a store and a load of the global
//   (an interpreter makes many small calls: QuickJS's overhead went from ~1.21x to ~1.11x).
//   Exports and the start function keep their signature through a wrapper (global in, threaded
//   body, global out). Functions in tables keep theirs (call_indirect cannot pass the counter, and
//   a wrapper there would add a call to every indirect call): they load the global on entry and
//   write it back before returning or calling what is not threaded. Around imports, tables and
//   leaves whose trap path reads the counter, it is written to the global before and reloaded
//   after; a trap for fuel first writes -1 to the global, so the host reads it below zero (it
//   reads only the sign: a call that runs out is charged its whole limit). A constant, not the
//   local, so that no check keeps the counter alive for its trap path (QuickJS rows: ~1%).
//   Where QuickJS's ~1.13x goes (rows, meter parts switched off one at a time, CPU time): passing
//   the counter through calls ~0.04, the global's store/load around indirect calls and in table
//   functions ~0.03, charges and checks in the interpreter loop (JS_CallInternal, where the
//   counter is spilled, so a charge is a load, a sub and a store per opcode) ~0.05, the rest
//   ~0.01. Not threading the interpreter, or functions of more than 4 parameters, is slower;
//   so is handing the counter back through the global instead of as a result (~0.015);
//   charging whole segments instead of branch targets (+33% fuel) and comparing before the
//   subtraction measured no faster.
// - Unthreaded, for a module with a tail call that could not keep its meaning (return_call_indirect,
//   return_call to an import or between the two kinds): a function with loops keeps the counter
//   in a local and writes it back before calls, branches out of the function and returns; one
//   without loops charges the global directly.
// New types, wrappers and locals are appended, so no function or type index moves (a threaded
// function's own locals move up by one, past the new parameter). O(bytes); cache the result.
import { SoloError } from "../errors.ts";
import { Reader, concat, encodeName, encodeS64, encodeU32, sections, isCoreModule } from "./binary.ts";
import { ensureWasmFeatures } from "./engine.ts";
import { decode, isBulk, bulkShift, newInstruction, refuse, valueType, type Instruction } from "./instructions.ts";
import { readModuleInfo } from "./module-info.ts";
import { MEMORY_IMPORT } from "./import-memory.ts";
import { METER_OFFSETS_SECTION, SOURCE_MAP_SECTION, codeSectionStart, customSection, encodeMeterOffsets, readCustomSection } from "./source-map.ts";

export const FUEL_GLOBAL = "solo_fuel";
export const MEMORY_BUDGET_GLOBAL = "solo_memory_budget";
export const GROW_FAILED_GLOBAL = "solo_grow_failed";
export const INSTANTIATE_FUEL_GLOBAL = "solo_instantiate_fuel";
export const START_EXPORT = "solo_start";
export const PAGE = 65536;
/** Where shared counters are imported from (see MeterSettings.sharedCounters). */
export const COUNTER_MODULE = "solo:meter";
/** Import modules the host binds itself (the counters; pooled memories, import-memory.ts): a guest module may not import them. */
export const RESERVED_MODULES: ReadonlySet<string> = new Set([COUNTER_MODULE, MEMORY_IMPORT.module]);
/** Names of the shared counters in COUNTER_MODULE. */
export const SHARED = { fuel: "fuel", budget: "memory_budget", failed: "grow_failed" } as const;

export interface MeterSettings {
  /** Hard cap on any memory's declared maximum, in 64 KiB pages. */
  maxMemoryPages: number;
  /** Hard cap on any table's size, in entries (each costs host heap). */
  maxTableEntries: number;
  /** Largest function body, in bytes. */
  maxFunctionBytes: number;
  /** Deepest nesting of blocks, loops and ifs in one function. */
  maxNesting: number;
  /**
   * Import the three counters from module "solo:meter" (fuel, memory_budget, grow_failed)
   * instead of defining and exporting them, so the core modules of one component share them.
   * Every global index at or past the new imports moves up by three; the pass rewrites them.
   */
  sharedCounters?: boolean;
}

export const DEFAULT_METER_SETTINGS: MeterSettings = { maxMemoryPages: 16384, maxTableEntries: 100_000, maxFunctionBytes: 1 << 20, maxNesting: 1024 };

export interface MeterReport {
  functions: number;
  /** Functions that take the counter as a last parameter and return it as a last result. */
  threadedFunctions: number;
  /** Loop-free functions that call only such functions: charged at their call sites instead. */
  leafFunctions: number;
  loops: number;
  chargePoints: number;
  growSites: number;
}

const SECTION_ORDER = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
const rank = (id: number) => SECTION_ORDER.indexOf(id);

const I64 = 0x7e;
const I32 = 0x7f;
const OP = {
  unreachable: 0x00, block: 0x02, if: 0x04, else: 0x05, end: 0x0b, return: 0x0f, call: 0x10, localGet: 0x20, localSet: 0x21, localTee: 0x22,
  globalGet: 0x23, globalSet: 0x24, memoryGrow: 0x40, i32Const: 0x41, i64Const: 0x42,
  i32Ne: 0x47, i32GtU: 0x4b, i32Sub: 0x6b, i64LtS: 0x53, i64Sub: 0x7d, i64ShrU: 0x88, i64ExtendI32U: 0xad,
} as const;
const EMPTY = 0x40;
/** Memory bulk lengths up to this cost only their instruction's unit: at most 256 bytes of work. */
export const BULK_FREE = 256;
const MINUS_ONE = 0x7f;

/** Returns the module rewritten with fuel and memory metering, and what was instrumented. */
export function meter(module: Uint8Array, settings: MeterSettings = DEFAULT_METER_SETTINGS): { bytes: Uint8Array<ArrayBuffer>; report: MeterReport } {
  if (!isCoreModule(module)) throw new SoloError("VALIDATION_FAILED", "meter: not a core WebAssembly module");
  validate(module);
  try {
    return rewrite(module, { ...DEFAULT_METER_SETTINGS, ...settings });
  } catch (err) {
    if (err instanceof SoloError) throw err;
    throw new SoloError("VALIDATION_FAILED", `meter: cannot instrument module: ${(err as Error).message}`);
  }
}

/** V8 validates first: the pass relies on every index being in range and every body well typed. */
function validate(module: Uint8Array) {
  ensureWasmFeatures();
  if (WebAssembly.validate(module as Uint8Array<ArrayBuffer>)) return;
  let reason = "invalid module";
  try {
    new WebAssembly.Module(module as Uint8Array<ArrayBuffer>);
  } catch (err) {
    reason = (err as Error).message;
  }
  throw new SoloError("VALIDATION_FAILED", `module does not validate: ${reason}`, { item: "module" });
}

/** What the sections other than code say, gathered before anything is rewritten. */
interface Survey {
  /** Exported functions and the start function: entered from the host, never leaves. */
  entries: Set<number>;
  /** Functions in a table or taken by ref.func: a leaf among them gets a charging wrapper there. */
  referenced: Set<number>;
  /** Units charged for instantiation: data bytes / 8, element entries, initial table entries. */
  instantiateFuel: number;
}

function survey(bytes: Uint8Array, settings: MeterSettings): Survey {
  const s: Survey = { entries: new Set(), referenced: new Set(), instantiateFuel: 0 };
  const ins = newInstruction();
  const expr = (r: Reader) => {
    for (;;) {
      decode(r, ins);
      if (ins.op === 0xd2) s.referenced.add(ins.index);
      if (ins.op === OP.end) return;
    }
  };
  let memories = 0;
  for (const sec of sections(bytes)) {
    const r = new Reader(bytes, sec.start, sec.end);
    switch (sec.id) {
      case 1:
        for (let n = r.u32(), i = 0; i < n; i++) {
          if (r.byte() !== 0x60) refuse("GC types", "only function types are supported");
          for (let k = r.u32(), j = 0; j < k; j++) valueType(r);
          for (let k = r.u32(), j = 0; j < k; j++) valueType(r);
        }
        break;
      case 2:
        for (let n = r.u32(), i = 0; i < n; i++) {
          r.name();
          r.name();
          const kind = r.byte();
          if (kind === 0) r.u32();
          else if (kind === 1) { valueType(r); tableLimits(r, settings); }
          else if (kind === 2) { memoryLimits(r); memories++; }
          else if (kind === 3) { valueType(r); r.byte(); }
          else refuse("exception handling", "tags cannot be imported");
        }
        break;
      case 4:
        for (let n = r.u32(), i = 0; i < n; i++) {
          valueType(r);
          s.instantiateFuel += tableLimits(r, settings);
        }
        break;
      case 5:
        for (let n = r.u32(), i = 0; i < n; i++) { memoryLimits(r); memories++; }
        break;
      case 6:
        for (let n = r.u32(), i = 0; i < n; i++) {
          valueType(r);
          r.byte();
          expr(r);
          s.instantiateFuel++;
        }
        break;
      case 7:
        for (let n = r.u32(), i = 0; i < n; i++) {
          r.name();
          const kind = r.byte();
          const index = r.u32();
          if (kind === 0) s.entries.add(index);
        }
        break;
      case 8:
        s.entries.add(r.u32());
        break;
      case 9:
        for (let n = r.u32(), i = 0; i < n; i++) {
          const flags = r.u32();
          if (flags === 2 || flags === 6) r.u32();
          if (!(flags & 1)) expr(r);
          if (flags & 3) r.byte(); // elemkind or reftype
          const count = r.u32();
          s.instantiateFuel += count;
          for (let k = 0; k < count; k++) {
            if (flags & 4) expr(r);
            else s.referenced.add(r.u32());
          }
        }
        break;
      case 11:
        for (let n = r.u32(), i = 0; i < n; i++) {
          const flags = r.u32();
          if (flags === 2) r.u32();
          if (flags !== 1) expr(r);
          const size = r.u32();
          r.skip(size);
          s.instantiateFuel += Math.ceil(size / 8);
        }
        break;
      case 13:
        refuse("exception handling", "tags are not supported");
    }
  }
  if (memories > 1) refuse("multiple memories", "a module may have one memory");
  return s;
}

function memoryLimits(r: Reader): void {
  const flags = r.byte();
  if (flags & 0x02) refuse("shared memory", "memories may not be shared (no threads, no atomics waits)");
  if (flags & 0x04) refuse("64-bit memories", "only 32-bit memories are supported");
  r.u32();
  if (flags & 1) r.u32();
}

/** Checks a table's limits; returns its initial size. */
function tableLimits(r: Reader, settings: MeterSettings): number {
  const flags = r.byte();
  if (flags & 0x04) refuse("64-bit tables", "only 32-bit tables are supported");
  const min = r.u32();
  if (flags & 1) r.u32();
  if (min > settings.maxTableEntries) {
    throw new SoloError("VALIDATION_FAILED", `a table starts with ${min} entries; the limit is ${settings.maxTableEntries}`, { item: "table", limit: "maxTableEntries", value: min, max: settings.maxTableEntries });
  }
  return min;
}

function rewrite(bytes: Uint8Array, settings: MeterSettings) {
  const secs = sections(bytes);
  const surveyed = survey(bytes, settings); // refuses what the pass cannot meter, with its reason
  const info = readModuleInfo(bytes);
  // The meter's counters and pooled memories are the host's own: a guest module importing one
  // would be handed the live fuel counter or memory budget and could reset it.
  const reserved = info.imports.find((i) => RESERVED_MODULES.has(i.module));
  if (reserved) throw new SoloError("VALIDATION_FAILED", `meter: the module imports "${reserved.module}"."${reserved.name}"; the modules ${[...RESERVED_MODULES].map((m) => `"${m}"`).join(" and ")} are the host's own and cannot be imported by a guest`, { import: `${reserved.module}.${reserved.name}` });
  const { importedFunctions: importedFuncs, importedGlobals, definedGlobals } = info;
  const shapes: FunctionShape[] = [];
  const code = secs.find((s) => s.id === 10);
  if (code) {
    const r = new Reader(bytes, code.start, code.end);
    for (let n = r.u32(), i = 0; i < n; i++) {
      const size = r.u32();
      if (size > settings.maxFunctionBytes) {
        throw new SoloError("VALIDATION_FAILED", `function ${importedFuncs + i} is ${size} bytes; the limit is ${settings.maxFunctionBytes}`, { item: "function", limit: "maxFunctionBytes", value: size, max: settings.maxFunctionBytes });
      }
      shapes.push(shapeOf(bytes.subarray(r.pos, r.pos + size), settings, surveyed.referenced));
      r.skip(size);
    }
  }
  const leaves = leafCosts(shapes, importedFuncs, surveyed.entries);
  const leafCost = leaves.cost;
  // A leaf reached through a table or ref.func is reached there through a wrapper that charges its
  // body first; direct calls keep charging it at the call site (no counter traffic). Wrappers are
  // appended after every function, so no index moves.
  const wrappers = new Map<number, number>();
  for (const f of [...surveyed.referenced].sort((a, b) => a - b)) {
    if (leafCost(f) !== undefined) wrappers.set(f, importedFuncs + shapes.length + wrappers.size);
  }
  // Threading (the top comment): non-leaves outside tables and ref.func take and return the
  // counter; exports and the start function reach them through a wrapper. (Threading table
  // functions too, with an unthreaded copy for the table, made QuickJS's module a third bigger
  // and measured no faster.) Tail calls decide whether the module can be threaded at all.
  const candidate = (f: number) => f >= importedFuncs && leafCost(f) === undefined && !surveyed.referenced.has(f);
  const threadable = shapes.every((sh, i) => !sh.tailIndirect && sh.tailCalls.every((f) => f >= importedFuncs && (leafCost(f) !== undefined || candidate(f) === candidate(importedFuncs + i))));
  const threaded = (f: number) => threadable && candidate(f);
  const types = new TypeTable(info.types);
  const entryWrappers = new Map<number, number>();
  if (threadable) {
    const entries = [...surveyed.entries, ...(info.start !== undefined ? [info.start] : [])];
    for (const f of [...new Set(entries)].sort((a, b) => a - b)) {
      if (threaded(f)) entryWrappers.set(f, importedFuncs + shapes.length + wrappers.size + entryWrappers.size);
    }
  }
  const threadedType = (f: number) => types.threaded(info.functionTypes[f]!);
  // The type section comes first: every new type is made now.
  for (let i = 0; i < shapes.length; i++) {
    if (threaded(importedFuncs + i)) { threadedType(importedFuncs + i); types.block(info.functionTypes[importedFuncs + i]!); }
  }
  const remapFunc = wrappers.size || entryWrappers.size ? (f: number) => wrappers.get(f) ?? entryWrappers.get(f) ?? f : undefined;
  const shared = settings.sharedCounters === true;
  const fuelIndex = shared ? importedGlobals : importedGlobals + definedGlobals;
  const g: Globals = { fuel: fuelIndex, budget: fuelIndex + 1, failed: fuelIndex + 2 };
  const instantiateIndex = importedGlobals + definedGlobals + 3;
  // With shared counters, three globals are imported after the module's own imported globals.
  const remap = shared ? (idx: number) => (idx >= importedGlobals ? idx + 3 : idx) : undefined;
  const report: MeterReport = { functions: 0, threadedFunctions: 0, leafFunctions: 0, loops: 0, chargePoints: 0, growSites: 0 };

  const instantiateGlobal = [I64, 0, OP.i64Const, ...encodeS64(BigInt(surveyed.instantiateFuel)), OP.end];
  const newGlobals = shared ? [instantiateGlobal] : [
    [I64, 1, OP.i64Const, 0, OP.end],
    [I32, 1, OP.i32Const, 0, OP.end],
    [I32, 1, OP.i32Const, 0, OP.end],
    instantiateGlobal,
  ];
  const newExports = [
    ...(shared ? [] : [
      [...encodeName(FUEL_GLOBAL), 3, ...encodeU32(g.fuel)],
      [...encodeName(MEMORY_BUDGET_GLOBAL), 3, ...encodeU32(g.budget)],
      [...encodeName(GROW_FAILED_GLOBAL), 3, ...encodeU32(g.failed)],
    ]),
    [...encodeName(INSTANTIATE_FUEL_GLOBAL), 3, ...encodeU32(instantiateIndex)],
    ...(info.start !== undefined ? [[...encodeName(START_EXPORT), 0, ...encodeU32(remapFunc ? remapFunc(info.start) : info.start)]] : []),
  ];
  const newImports = !shared ? [] : [
    [...encodeName(COUNTER_MODULE), ...encodeName(SHARED.fuel), 3, I64, 1],
    [...encodeName(COUNTER_MODULE), ...encodeName(SHARED.budget), 3, I32, 1],
    [...encodeName(COUNTER_MODULE), ...encodeName(SHARED.failed), 3, I32, 1],
  ];

  const out: ArrayLike<number>[] = [bytes.subarray(0, 8)];
  let written = 8;
  const emit = (id: number, body: ArrayLike<number>[]) => {
    const content = concat(body);
    const head = [id, ...encodeU32(content.length)];
    out.push(head, content);
    written += head.length + content.length;
    return written - content.length;
  };
  // A module with a source map (an AssemblyScript guest's) gets the table that takes offsets in
  // the metered code back to the original's (source-map.ts): one run per copied stretch of code.
  const oldCode = readCustomSection(bytes, SOURCE_MAP_SECTION) ? codeSectionStart(bytes) : undefined;
  const runs: number[] | undefined = oldCode !== undefined ? [] : undefined;
  let importsDone = !shared;
  let globalsDone = false;
  let exportsDone = false;
  const flushBefore = (id: number) => {
    if (!importsDone && (id === -1 || rank(id) > rank(2))) {
      emit(2, [encodeU32(newImports.length), ...newImports]);
      importsDone = true;
    }
    if (!globalsDone && (id === -1 || rank(id) > rank(6))) {
      emit(6, [encodeU32(newGlobals.length), ...newGlobals]);
      globalsDone = true;
    }
    if (!exportsDone && (id === -1 || rank(id) > rank(7))) {
      emit(7, [encodeU32(newExports.length), ...newExports]);
      exportsDone = true;
    }
  };
  const appended = (body: Uint8Array, extra: ArrayLike<number>[]) => {
    const r = new Reader(body);
    const n = r.u32();
    return [encodeU32(n + extra.length), body.subarray(r.pos), ...extra];
  };
  for (const s of secs) {
    if (s.id !== 0) flushBefore(s.id);
    let body: Uint8Array = bytes.subarray(s.start, s.end);
    switch (s.id) {
      case 1: emit(1, appended(body, types.added)); break;
      case 3: {
        const own = shapes.map((_, i) => encodeU32(threaded(importedFuncs + i) ? threadedType(importedFuncs + i) : info.functionTypes[importedFuncs + i]!));
        const added = [...wrappers.keys(), ...entryWrappers.keys()].map((f) => encodeU32(info.functionTypes[f]!));
        emit(3, [encodeU32(own.length + added.length), ...own, ...added]);
        break;
      }
      case 2:
        emit(2, appended(body, newImports));
        importsDone = true;
        break;
      case 4: emit(4, [capTables(body, settings.maxTableEntries)]); break;
      case 5: emit(5, [capMemories(body, settings.maxMemoryPages)]); break;
      case 6:
        if (remap || remapFunc) body = remapGlobals(body, remap, remapFunc);
        emit(6, appended(body, newGlobals));
        globalsDone = true;
        break;
      case 7:
        if (remap || remapFunc) body = remapExports(body, remap, remapFunc);
        emit(7, appended(body, newExports));
        exportsDone = true;
        break;
      case 8: break; // the start function is exported as solo_start and run by the host
      case 9: emit(9, [remap || remapFunc ? remapElements(body, remap, remapFunc) : body]); break;
      case 11: emit(11, [remap ? remapData(body, remap) : body]); break;
      case 10: {
        const r = new Reader(body);
        const n = r.u32();
        const parts: ArrayLike<number>[] = [encodeU32(n + wrappers.size + entryWrappers.size)];
        let at = parts[0]!.length; // where the next function starts in the section's contents
        const fnRuns: number[] | undefined = runs && [];
        for (let i = 0; i < n; i++) {
          const size = r.u32();
          const type = info.types[info.functionTypes[importedFuncs + i]!];
          if (!type) throw new Error(`function ${importedFuncs + i} has no type`);
          const first = fnRuns?.length ?? 0;
          const f = importedFuncs + i;
          const fn = meterFunction(body.subarray(r.pos, r.pos + size), {
            params: type.params.length, hasLoop: shapes[i]!.hasLoop, leaf: leafCost(f) !== undefined, local: threadable,
            threaded: threaded(f) ? types.block(info.functionTypes[f]!) : undefined, calleeThreaded: threaded,
          }, g, report, leaves, remap, remapFunc, fnRuns && { runs: fnRuns, base: bytes.byteOffset + oldCode! });
          r.skip(size);
          const size2 = encodeU32(fn.length);
          at += size2.length;
          if (fnRuns) for (let k = first; k < fnRuns.length; k += 3) fnRuns[k]! += at;
          at += fn.length;
          parts.push(size2, fn);
        }
        for (const f of wrappers.keys()) {
          const fn = wrapper(f, info.types[info.functionTypes[f]!]!.params.length, leafCost(f)!, g);
          parts.push(encodeU32(fn.length), fn);
        }
        for (const f of entryWrappers.keys()) {
          const fn = entryWrapper(f, info.types[info.functionTypes[f]!]!.params.length, g);
          parts.push(encodeU32(fn.length), fn);
        }
        const start = emit(10, parts);
        if (runs && fnRuns) for (let k = 0; k < fnRuns.length; k += 3) runs.push(fnRuns[k]! + start, fnRuns[k + 1]!, fnRuns[k + 2]!);
        break;
      }
      case 0:
        // The offsets table is the meter's alone: one the module brought would be read by the
        // worker as where metered code came from.
        if (new Reader(bytes, s.start, s.end).name() === METER_OFFSETS_SECTION) break;
        out.push(bytes.subarray(s.headerStart, s.end));
        written += s.end - s.headerStart;
        break;
      default:
        out.push(bytes.subarray(s.headerStart, s.end));
        written += s.end - s.headerStart;
    }
  }
  flushBefore(-1);
  if (runs && runs.length > 0) out.push(customSection(METER_OFFSETS_SECTION, encodeMeterOffsets(runs)));
  return { bytes: concat(out), report };
}

function capMemories(body: Uint8Array, maxPages: number): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const parts: ArrayLike<number>[] = [encodeU32(n)];
  for (let i = 0; i < n; i++) {
    const flags = r.byte();
    const min = r.u32();
    const max = flags & 1 ? r.u32() : 65536;
    if (min > maxPages) {
      throw new SoloError("MEMORY_LIMIT", `module needs ${min * PAGE} bytes of memory at start; the limit is ${maxPages * PAGE}`, { initialBytes: min * PAGE, limitBytes: maxPages * PAGE });
    }
    parts.push([flags | 1, ...encodeU32(min), ...encodeU32(Math.min(max, maxPages))]);
  }
  return concat(parts);
}

function capTables(body: Uint8Array, maxEntries: number): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const parts: ArrayLike<number>[] = [encodeU32(n)];
  for (let i = 0; i < n; i++) {
    const type = r.byte();
    const flags = r.byte();
    const min = r.u32();
    const max = flags & 1 ? r.u32() : maxEntries;
    parts.push([type, flags | 1, ...encodeU32(min), ...encodeU32(Math.min(max, maxEntries))]);
  }
  return concat(parts);
}

interface Globals { fuel: number; budget: number; failed: number }

/** How one function is rewritten. */
interface FunctionPlan {
  params: number;
  hasLoop: boolean;
  /** Charged at its call sites instead: no charges of its own. */
  leaf: boolean;
  /** Keep the counter in a local even without loops (in a threaded module, where calls pass it on). */
  local: boolean;
  /** Threaded: the block type of the original results (the body is wrapped in such a block). */
  threaded?: number[];
  /** Whether a callee takes and returns the counter. */
  calleeThreaded: (f: number) => boolean;
}

/**
 * Rewrites one function body (locals + expression). A leaf gets no charges of its own. `trace`:
 * pushes [start in the returned bytes, start relative to `base` in the original, length] for each
 * run of original code it copies.
 */
function meterFunction(body: Uint8Array, plan: FunctionPlan, g: Globals, report: MeterReport, leaves: ReturnType<typeof leafCosts>, remap?: (idx: number) => number, remapFunc?: (f: number) => number, trace?: { runs: number[]; base: number }): Uint8Array {
  const { params, leaf, calleeThreaded } = plan;
  const threaded = plan.threaded !== undefined;
  const leafCost = leaves.cost;
  report.functions++;
  if (leaf) report.leafFunctions++;
  if (threaded) report.threadedFunctions++;
  const r = new Reader(body);
  const localDecls = r.u32();
  let locals = params;
  for (let i = 0; i < localDecls; i++) {
    locals += r.u32();
    valueType(r);
  }
  const declsEnd = r.pos;
  // The counter lives in a local: in a threaded function it is the extra last parameter (so the
  // function's own locals move up by one); in a function with loops of an unthreaded module it
  // is an i64 local after the function's own. Then two i32 scratch locals (a grow's delta or a
  // bulk length; a grow's result). A loop-free function of an unthreaded module charges the global.
  const cached = !leaf && (threaded || plan.hasLoop || plan.local);
  const shift = threaded ? 1 : 0;
  const fuelLocal = threaded ? params : locals;
  const scratch = threaded ? locals + 1 : cached ? locals + 1 : locals;
  const result = scratch + 1;
  const ourDecls = cached && !threaded ? [1, I64, 2, I32] : [2, I32];

  const out: ArrayLike<number>[] = [];
  let copyFrom = declsEnd;
  const flush = (to: number) => {
    if (to > copyFrom) out.push(body.subarray(copyFrom, to));
    copyFrom = to;
  };
  /** Replaces the instruction just decoded (from `at` to r.pos) with `code`. */
  const replace = (at: number, code: number[]) => {
    flush(at);
    out.push(code);
    copyFrom = r.pos;
  };

  // Open segment: where its charge goes in `out`, and how many instructions it has so far.
  let segment = { slot: -1, cost: 0, reload: true, checked: true };
  const openSegment = (reload: boolean, checked = true) => {
    closeSegment();
    out.push([]);
    segment = { slot: out.length - 1, cost: 0, reload, checked };
    report.chargePoints++;
  };
  const closeSegment = () => {
    if (segment.slot < 0) return;
    out[segment.slot] = charge(segment.cost, segment.reload, segment.checked);
    segment.slot = -1;
  };
  // In a function with loops the counter is a local, so a charge is one register subtraction:
  // such functions are cut at every branch target too (basic blocks), so that a branchy loop
  // body (an interpreter's dispatch) is charged for the arm it takes, not for all of them.
  // Those extra charges are unchecked; the checks at entries and loop headers bound the overrun.
  // (Loop-free functions keep one charge per segment, both arms of an `if` included, threaded or
  // not, so threading moves no fuel figure.)
  const fine = plan.hasLoop && !leaf;
  const fuelGet = encodeU32(g.fuel);
  const local = encodeU32(fuelLocal);
  // The trap path stores -1, not the local (the top comment): the host reads only the sign.
  const check = cached
    ? [OP.i64Const, 0, OP.i64LtS, OP.if, EMPTY, OP.i64Const, MINUS_ONE, OP.globalSet, ...fuelGet, OP.unreachable, OP.end]
    : [OP.globalGet, ...fuelGet, OP.i64Const, 0, OP.i64LtS, OP.if, EMPTY, OP.unreachable, OP.end];
  const charge = (cost: number, reload: boolean, checked: boolean): number[] => {
    if (leaf) return [];
    if (cost === 0 && !reload) return [];
    const c = encodeS64(BigInt(cost));
    if (!cached) return [OP.globalGet, ...fuelGet, OP.i64Const, ...c, OP.i64Sub, OP.globalSet, ...fuelGet, ...(checked ? check : [])];
    const load = reload ? [OP.globalGet, ...fuelGet] : [OP.localGet, ...local];
    if (!checked) return [...load, OP.i64Const, ...c, OP.i64Sub, OP.localSet, ...local];
    return [...load, OP.i64Const, ...c, OP.i64Sub, OP.localTee, ...local, ...check];
  };
  // A bulk instruction's length is on top of the stack: keep it there; past BULK_FREE, charge it
  // in full and check. Small copies (an interpreter's memcpy of a few words) cost their one unit.
  const bulkCharge = (shift: number): number[] => {
    const s = encodeU32(scratch);
    const units = [OP.localGet, ...s, OP.i64ExtendI32U, ...(shift ? [OP.i64Const, shift, OP.i64ShrU] : []), OP.i64Sub];
    const charge = cached
      ? [OP.localGet, ...local, ...units, OP.localTee, ...local, ...check]
      : [OP.globalGet, ...fuelGet, ...units, OP.globalSet, ...fuelGet, ...check];
    // Table entries are charged from the first: each costs far more than a byte.
    if (shift === 0) return [OP.localTee, ...s, ...charge];
    return [OP.localTee, ...s, OP.localGet, ...s, OP.i32Const, ...encodeS64(BigInt(BULK_FREE)), OP.i32GtU, OP.if, EMPTY, ...charge, OP.end];
  };
  // Where the counter is written to the global: before code that reads it there (imports, tables,
  // unthreaded callees) and, in an unthreaded function, before returns.
  const writeBack = cached ? [OP.localGet, ...local, OP.globalSet, ...fuelGet] : [];
  const returnsCounter = threaded ? [OP.localGet, ...local] : [];
  // A threaded callee from a caller that is not threaded (a leaf's trap path): from the global and back.
  const passIn = cached ? [OP.localGet, ...local] : [OP.globalGet, ...fuelGet];
  const takeOut = cached ? [OP.localSet, ...local] : [OP.globalSet, ...fuelGet];

  // A threaded body is wrapped in a block with the original results, which every branch to the
  // function's label now targets; after it, the counter joins the results.
  if (threaded) out.push([OP.block, ...plan.threaded!]);
  if (!leaf) {
    openSegment(!threaded);
    segment.cost += (locals - params) >> LOCALS_PER_UNIT_SHIFT; // zeroing the declared locals
  }
  // Control stack: 0 = function, 1 = block/if, 2 = loop.
  const control: number[] = [0];
  const targetsFunction = (depth: number) => depth === control.length - 1;
  const ins = newInstruction();
  while (!r.done) {
    decode(r, ins);
    const { at, op } = ins;
    segment.cost++;
    switch (op) {
      case 0x02: control.push(1); break;
      case 0x04:
        control.push(1);
        if (fine) { flush(r.pos); openSegment(false, false); } // the then-arm
        break;
      case 0x05:
        if (fine) { flush(r.pos); openSegment(false, false); } // the else-arm
        break;
      case 0x03: control.push(2); report.loops++; flush(r.pos); openSegment(false); break;
      case 0x0b: {
        const kind = control.pop();
        if (kind === 0) {
          // The function's end: in a threaded one it closes the wrapping block first.
          flush(at);
          if (threaded) out.push([OP.end], returnsCounter);
          else out.push(writeBack);
          break;
        }
        if (kind === 2 || fine) { flush(r.pos); openSegment(false, kind === 2); } // a branch target
        break;
      }
      case 0x0c: case 0x0d:
        if (!threaded && cached && targetsFunction(ins.index)) { flush(at); out.push(writeBack); }
        break;
      case 0x0e:
        if (!threaded && cached) { flush(at); out.push(writeBack); }
        break;
      case 0x0f:
        flush(at);
        out.push(threaded ? returnsCounter : writeBack);
        break;
      case 0x20: case 0x21: case 0x22:
        if (shift && ins.index >= params) replace(at, [op, ...encodeU32(ins.index + shift)]);
        break;
      case 0x10: case 0x11: {
        const inline = op === 0x10 ? leafCost(ins.index) : undefined;
        if (inline !== undefined) {
          segment.cost += inline; // a leaf's whole body, charged here; no counter traffic...
          // ...unless a trap path in it may reach code that reads the counter.
          if (cached && leaves.escapes(ins.index)) { flush(at); out.push(writeBack); }
          break;
        }
        if (op === 0x10 && calleeThreaded(ins.index)) {
          // The counter goes in as the last argument and comes back as the last result.
          flush(at);
          out.push(passIn);
          flush(r.pos);
          out.push(takeOut);
          if (leaf) break; // a leaf's trap path
          openSegment(false, !fine);
          break;
        }
        if (cached) { flush(at); out.push(writeBack); }
        flush(r.pos);
        openSegment(true, !fine);
        break;
      }
      case 0x12: case 0x13: {
        // A tail call into a leaf: the leaf's body is charged in this segment, like a call.
        const inline = op === 0x12 ? leafCost(ins.index) : undefined;
        if (inline !== undefined) segment.cost += inline;
        if (threaded) {
          // Only direct tail calls are threaded (a module with others is not). Into a threaded
          // callee the counter rides along; into a leaf (bounded, no recursion) it becomes a call.
          if (inline === undefined) { flush(at); out.push(returnsCounter); break; }
          if (leaves.escapes(ins.index)) replace(at, [...writeBack, OP.call, ...encodeU32(ins.index), ...returnsCounter, OP.return]);
          else replace(at, [OP.call, ...encodeU32(ins.index), ...returnsCounter, OP.return]);
          break;
        }
        if (cached) { flush(at); out.push(writeBack); }
        break;
      }
      case 0x23: case 0x24:
        if (remap && remap(ins.index) !== ins.index) replace(at, [op, ...encodeU32(remap(ins.index))]);
        break;
      case 0xd2:
        if (remapFunc && remapFunc(ins.index) !== ins.index) replace(at, [op, ...encodeU32(remapFunc(ins.index))]);
        break;
      case 0x40:
        report.growSites++;
        replace(at, growCheck(scratch, result, g));
        break;
      case 0xfc:
        if (isBulk(ins)) { flush(at); out.push(bulkCharge(bulkShift(ins))); }
        break;
    }
  }
  flush(r.pos);
  closeSegment();
  const head = new Reader(body);
  head.u32();
  const prefix = [encodeU32(localDecls + ourDecls.length / 2), body.subarray(head.pos, declsEnd), ourDecls];
  if (trace) {
    // Copied code is the only part of `out` that is a view of `body`.
    let pos = prefix.reduce((n, c) => n + c.length, 0);
    for (const c of out) {
      if (c instanceof Uint8Array && c.buffer === body.buffer && c.length > 0) trace.runs.push(pos, c.byteOffset - trace.base, c.length);
      pos += c.length;
    }
  }
  return concat([...prefix, ...out]);
}

/** A leaf's stand-in in tables and ref.func: charges the leaf's whole cost, checks, calls it. */
function wrapper(leaf: number, params: number, cost: number, g: Globals): Uint8Array {
  const fuel = encodeU32(g.fuel);
  const args: number[] = [];
  for (let i = 0; i < params; i++) args.push(OP.localGet, ...encodeU32(i));
  return concat([[0, OP.globalGet, ...fuel, OP.i64Const, ...encodeS64(BigInt(cost)), OP.i64Sub, OP.globalSet, ...fuel,
    OP.globalGet, ...fuel, OP.i64Const, 0, OP.i64LtS, OP.if, EMPTY, OP.unreachable, OP.end, ...args, 0x10, ...encodeU32(leaf), OP.end]]);
}

/** An entry's stand-in with the original signature: the global in, the threaded body, the global out. Free. */
function entryWrapper(f: number, params: number, g: Globals): Uint8Array {
  const fuel = encodeU32(g.fuel);
  const args: number[] = [];
  for (let i = 0; i < params; i++) args.push(OP.localGet, ...encodeU32(i));
  return concat([[0, ...args, OP.globalGet, ...fuel, OP.call, ...encodeU32(f), OP.globalSet, ...fuel, OP.end]]);
}

/** The module's function types plus the ones threading adds (appended: no index moves). */
class TypeTable {
  readonly added: number[][] = [];
  private readonly threadedOf = new Map<number, number>();
  private readonly blockOf = new Map<number, number[]>();
  constructor(private readonly types: { params: number[]; results: number[] }[]) {}
  private add(params: number[], results: number[]): number {
    this.added.push([0x60, ...encodeU32(params.length), ...params, ...encodeU32(results.length), ...results]);
    return this.types.length + this.added.length - 1;
  }
  /** (params) -> (results) becomes (params, i64) -> (results, i64). */
  threaded(t: number): number {
    let idx = this.threadedOf.get(t);
    if (idx === undefined) {
      const { params, results } = this.types[t]!;
      this.threadedOf.set(t, (idx = this.add([...params, I64], [...results, I64])));
    }
    return idx;
  }
  /** The block type of a body that yields the original results. */
  block(t: number): number[] {
    let bt = this.blockOf.get(t);
    if (!bt) {
      const { results } = this.types[t]!;
      bt = results.length === 0 ? [EMPTY] : results.length === 1 ? [results[0]!] : encodeS64(BigInt(this.add([], results)));
      this.blockOf.set(t, bt);
    }
    return bt;
  }
}

// memory.grow with the delta on the stack -> the same result, refused past the budget; a grow
// that succeeds takes its pages out of the budget.
function growCheck(delta: number, result: number, g: Globals): number[] {
  const d = encodeU32(delta);
  const res = encodeU32(result);
  const budget = encodeU32(g.budget);
  return [
    OP.localSet, ...d,
    OP.localGet, ...d, OP.globalGet, ...budget, OP.i32GtU,
    OP.if, I32,
    OP.i32Const, 1, OP.globalSet, ...encodeU32(g.failed), OP.i32Const, MINUS_ONE,
    OP.else,
    OP.localGet, ...d, OP.memoryGrow, 0, OP.localTee, ...res,
    OP.i32Const, MINUS_ONE, OP.i32Ne,
    OP.if, EMPTY, OP.globalGet, ...budget, OP.localGet, ...d, OP.i32Sub, OP.globalSet, ...budget, OP.end,
    OP.localGet, ...res,
    OP.end,
  ];
}

// ---- global index remapping (shared counters) ----

type Remap = ((idx: number) => number) | undefined;

/** Copies a constant expression up to and including its `end`, remapping global.get and ref.func. */
function constExpr(r: Reader, remap: Remap, remapFunc?: Remap): number[] {
  const out: number[] = [];
  const ins = newInstruction();
  for (;;) {
    decode(r, ins);
    if (ins.op === 0x23 && remap) out.push(ins.op, ...encodeU32(remap(ins.index)));
    else if (ins.op === 0xd2 && remapFunc) out.push(ins.op, ...encodeU32(remapFunc(ins.index)));
    else for (let i = ins.at; i < r.pos; i++) out.push(r.bytes[i]!);
    if (ins.op === OP.end) return out;
  }
}

function copyFrom(r: Reader, from: number): Uint8Array {
  return r.bytes.subarray(from, r.pos);
}

function remapGlobals(body: Uint8Array, remap: Remap, remapFunc?: Remap): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const out: ArrayLike<number>[] = [encodeU32(n)];
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    valueType(r);
    r.byte();
    out.push(copyFrom(r, at), constExpr(r, remap, remapFunc));
  }
  return concat(out);
}

function remapExports(body: Uint8Array, remap: Remap, remapFunc: Remap): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const out: ArrayLike<number>[] = [encodeU32(n)];
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    r.name();
    const kind = r.byte();
    const head = copyFrom(r, at);
    const idx = r.u32();
    out.push(head, encodeU32(kind === 3 && remap ? remap(idx) : kind === 0 && remapFunc ? remapFunc(idx) : idx));
  }
  return concat(out);
}

function remapElements(body: Uint8Array, remap: Remap, remapFunc?: Remap): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const out: ArrayLike<number>[] = [encodeU32(n)];
  for (let i = 0; i < n; i++) {
    const flags = r.u32();
    out.push(encodeU32(flags));
    let at = r.pos;
    if (flags === 2 || flags === 6) r.u32(); // table index
    out.push(copyFrom(r, at));
    if (!(flags & 1)) out.push(constExpr(r, remap)); // active: offset
    at = r.pos;
    if (flags & 3) r.byte(); // elemkind or reftype (flags 1, 2, 3, 5, 6, 7)
    out.push(copyFrom(r, at));
    const count = r.u32();
    out.push(encodeU32(count));
    for (let k = 0; k < count; k++) {
      if (flags & 4) out.push(constExpr(r, remap, remapFunc));
      else {
        const f = r.u32();
        out.push(encodeU32(remapFunc ? remapFunc(f) : f));
      }
    }
  }
  return concat(out);
}

function remapData(body: Uint8Array, remap: (idx: number) => number): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const out: ArrayLike<number>[] = [encodeU32(n)];
  for (let i = 0; i < n; i++) {
    const flags = r.u32();
    out.push(encodeU32(flags));
    if (flags === 2) out.push(encodeU32(r.u32()));
    if (flags !== 1) out.push(constExpr(r, remap));
    const at = r.pos;
    r.skip(r.u32());
    out.push(copyFrom(r, at));
  }
  return concat(out);
}

// ---- leaves ----

interface FunctionShape {
  instructions: number;
  hasLoop: boolean;
  /** Indirect calls or bulk instructions: a cost not known statically. */
  dynamic: boolean;
  calls: number[];
  /** Callees of trap paths (`call f; unreachable`): they run, but never return here. */
  trapCalls: number[];
  /** Callees of return_call. */
  tailCalls: number[];
  /** Has return_call_indirect. */
  tailIndirect: boolean;
}

/** The most a leaf may cost: bigger bodies are metered like any other function. */
const LEAF_COST_CAP = 256;
/** Declared locals per function; V8 allows 50,000 in all and the pass adds three. */
const MAX_LOCALS = 49_000;
/** Zeroing locals on entry: one unit per 8. */
const LOCALS_PER_UNIT_SHIFT = 3;

function shapeOf(body: Uint8Array, settings: MeterSettings, referenced: Set<number>): FunctionShape {
  const r = new Reader(body);
  let locals = 0;
  for (let n = r.u32(), i = 0; i < n; i++) {
    locals += r.u32();
    valueType(r);
  }
  if (locals > MAX_LOCALS) {
    throw new SoloError("VALIDATION_FAILED", `a function declares ${locals} locals; the limit is ${MAX_LOCALS}`, { item: "function", limit: "locals", value: locals, max: MAX_LOCALS });
  }
  const shape: FunctionShape = { instructions: 0, hasLoop: false, dynamic: false, calls: [], trapCalls: [], tailCalls: [], tailIndirect: false };
  const ins = newInstruction();
  let depth = 1;
  // The engine zeroes every local on entry: work the instruction count does not see.
  shape.instructions += locals >> LOCALS_PER_UNIT_SHIFT;
  while (!r.done) {
    decode(r, ins);
    const op = ins.op;
    shape.instructions++;
    if (op === 0x02 || op === 0x03 || op === 0x04) {
      if (++depth > settings.maxNesting) {
        throw new SoloError("VALIDATION_FAILED", `a function nests blocks ${depth} deep; the limit is ${settings.maxNesting}`, { item: "function", limit: "maxNesting", value: depth, max: settings.maxNesting });
      }
      if (op === 0x03) shape.hasLoop = true;
    } else if (op === 0x0b) depth--;
    else if (op === 0x10 || op === 0x12) {
      // `call f; unreachable` is a trap path (AssemblyScript's abort): it never returns here,
      // so it does not stop the caller from being a leaf.
      if (!(op === 0x10 && r.bytes[r.pos] === 0x00)) shape.calls.push(ins.index);
      else shape.trapCalls.push(ins.index);
      if (op === 0x12) shape.tailCalls.push(ins.index);
    } else if (op === 0x11 || op === 0x13 || isBulk(ins)) {
      shape.dynamic = true;
      if (op === 0x13) shape.tailIndirect = true;
    }
    else if (op === 0xd2) referenced.add(ins.index);
  }
  return shape;
}

/**
 * A leaf is a function with no loop, no indirect call and no bulk instruction that calls only
 * leaves (trap paths aside) and is not an entry (exported, or the start function): its cost is
 * bounded and known, so direct callers charge it at the call site, and tables and ref.func reach it
 * through a wrapper that charges it.
 * A trap path may call a function that reads the counter (a non-leaf reloads the global): a caller
 * that keeps the counter in a local writes it back before calling such a leaf (`escapes`), or the
 * callee would start from a stale, fuller counter.
 * `cost` returns a function index's static cost, or undefined when it is not a leaf.
 */
function leafCosts(shapes: FunctionShape[], importedFuncs: number, entries: Set<number>): { cost: (f: number) => number | undefined; escapes: (f: number) => boolean } {
  const memo = new Map<number, number | null>(); // null: visiting, or not a leaf
  const escapeMemo = new Map<number, boolean>();
  const escapes = (f: number): boolean => {
    if (f < importedFuncs) return false;
    const known = escapeMemo.get(f);
    if (known !== undefined) return known;
    escapeMemo.set(f, false);
    const shape = shapes[f - importedFuncs]!;
    const result = shape.trapCalls.some((t) => t >= importedFuncs) || shape.calls.some((c) => escapes(c));
    escapeMemo.set(f, result);
    return result;
  };
  const cost = (f: number): number | undefined => {
    if (f < importedFuncs || entries.has(f)) return undefined;
    const known = memo.get(f);
    if (known !== undefined) return known ?? undefined;
    memo.set(f, null);
    const shape = shapes[f - importedFuncs];
    if (!shape || shape.hasLoop || shape.dynamic) return undefined;
    let total = shape.instructions;
    for (const callee of shape.calls) {
      const c = cost(callee);
      if (c === undefined) return undefined;
      total += c;
      if (total > LEAF_COST_CAP) return undefined;
    }
    memo.set(f, total);
    return total;
  };
  return { cost, escapes };
}

/** Reads an instruction stream for tests and tools: every instruction, decoded. */
export function* instructions(body: Uint8Array): Generator<Instruction> {
  const r = new Reader(body);
  const ins = newInstruction();
  while (!r.done) yield decode(r, ins);
}
