// Fuel and memory metering by rewriting a core WebAssembly module.
//
// Cost model: one fuel unit is one original instruction. The code of each function is cut into
// segments at its entry, at every loop header, after every loop's `end` and after every call;
// a segment's instructions are charged (all of them, both arms of an `if` included) when the
// segment starts, and the counter is checked right there. So every loop iteration and every call
// is charged and checked, the fuel of a call depends only on the path it takes (deterministic),
// and a guest stops before the segment that would take the counter below zero.
//
// Placement (see shared/MEASURED.md): a function with loops keeps the counter in a local and
// writes it back to the global before calls, branches out of the function, throws and returns;
// a function without loops charges the global directly (cheaper around calls).
//
// Memory: every defined memory's declared maximum is capped, and each `memory.grow` is replaced
// by an inline check against `solo_memory_limit` (pages); a refused grow sets `solo_grow_failed`,
// returns -1 as wasm would, and the host reports MEMORY_LIMIT from that flag, whatever the guest
// does next.
//
// Everything is appended (globals, exports, locals), so no existing index moves. Metering runs in
// O(bytes) in plain JavaScript: ~a few ms for a small module; cache the result by content hash.
import { SoloError } from "../errors.ts";
import { Reader, concat, encodeName, encodeS64, encodeU32, sections, isCoreModule } from "./binary.ts";
import { readModuleInfo } from "./module-info.ts";

export const FUEL_GLOBAL = "solo_fuel";
export const MEMORY_LIMIT_GLOBAL = "solo_memory_limit";
export const GROW_FAILED_GLOBAL = "solo_grow_failed";
export const PAGE = 65536;
/** Where shared counters are imported from (see MeterSettings.sharedCounters). */
export const COUNTER_MODULE = "solo:meter";

export interface MeterSettings {
  /** Hard cap on any memory's declared maximum, in 64 KiB pages. */
  maxMemoryPages: number;
  /** Fuel available to the start function at instantiation. */
  startFuel: bigint;
  /**
   * Import the three counters from module "solo:meter" (fuel, memory_limit, grow_failed)
   * instead of defining and exporting them, so the core modules of one component share them.
   * Every global index at or past the new imports moves up by three; the pass rewrites them.
   */
  sharedCounters?: boolean;
}

export const DEFAULT_METER_SETTINGS: MeterSettings = { maxMemoryPages: 16384, startFuel: 1_000_000_000n };

export interface MeterReport {
  functions: number;
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
  unreachable: 0x00, if: 0x04, end: 0x0b, localGet: 0x20, localSet: 0x21, localTee: 0x22,
  globalGet: 0x23, globalSet: 0x24, memorySize: 0x3f, memoryGrow: 0x40, i32Const: 0x41,
  i64Const: 0x42, i32Sub: 0x6b, i32LtU: 0x49, i64LtS: 0x53, i64Sub: 0x7d,
} as const;
const EMPTY = 0x40;

/** Returns the module rewritten with fuel and memory metering, and what was instrumented. */
export function meter(module: Uint8Array, settings: MeterSettings = DEFAULT_METER_SETTINGS): { bytes: Uint8Array<ArrayBuffer>; report: MeterReport } {
  if (!isCoreModule(module)) throw new SoloError("VALIDATION_FAILED", "meter: not a core WebAssembly module");
  try {
    return rewrite(module, settings);
  } catch (err) {
    if (err instanceof SoloError) throw err;
    throw new SoloError("VALIDATION_FAILED", `meter: cannot instrument module: ${(err as Error).message}`);
  }
}

function rewrite(bytes: Uint8Array, settings: MeterSettings) {
  const secs = sections(bytes);
  const info = readModuleInfo(bytes);
  const { importedFunctions: importedFuncs, importedGlobals, definedGlobals } = info;
  // Exported functions and the start function are entry points: never charged at call sites.
  const entries = new Set<number>(info.exports.filter((e) => e.kind === "function").map((e) => e.index));
  if (info.start !== undefined) entries.add(info.start);
  const shapes: FunctionShape[] = [];
  const code = secs.find((s) => s.id === 10);
  if (code) {
    const r = new Reader(bytes, code.start, code.end);
    for (let n = r.u32(), i = 0; i < n; i++) {
      const size = r.u32();
      shapes.push(shapeOf(bytes.subarray(r.pos, r.pos + size)));
      r.skip(size);
    }
  }
  const leafCost = leafCosts(shapes, importedFuncs, entries);
  const shared = settings.sharedCounters === true;
  const fuelIndex = shared ? importedGlobals : importedGlobals + definedGlobals;
  const g = { fuel: fuelIndex, limit: fuelIndex + 1, failed: fuelIndex + 2 };
  // With shared counters, three globals are imported after the module's own imported globals.
  const remap = shared ? (idx: number) => (idx >= importedGlobals ? idx + 3 : idx) : undefined;
  const report: MeterReport = { functions: 0, leafFunctions: 0, loops: 0, chargePoints: 0, growSites: 0 };

  const newGlobals = shared ? [] : [
    [I64, 1, OP.i64Const, ...encodeS64(settings.startFuel), OP.end],
    [I32, 1, OP.i32Const, ...encodeS64(BigInt(settings.maxMemoryPages)), OP.end],
    [I32, 1, OP.i32Const, 0, OP.end],
  ];
  const newExports = shared ? [] : [
    [...encodeName(FUEL_GLOBAL), 3, ...encodeU32(g.fuel)],
    [...encodeName(MEMORY_LIMIT_GLOBAL), 3, ...encodeU32(g.limit)],
    [...encodeName(GROW_FAILED_GLOBAL), 3, ...encodeU32(g.failed)],
  ];
  const newImports = !shared ? [] : [
    [...encodeName(COUNTER_MODULE), ...encodeName("fuel"), 3, I64, 1],
    [...encodeName(COUNTER_MODULE), ...encodeName("memory_limit"), 3, I32, 1],
    [...encodeName(COUNTER_MODULE), ...encodeName("grow_failed"), 3, I32, 1],
  ];

  const out: ArrayLike<number>[] = [bytes.subarray(0, 8)];
  const emit = (id: number, body: ArrayLike<number>[]) => {
    const content = concat(body);
    out.push([id, ...encodeU32(content.length)], content);
  };
  let globalsDone = !shared ? false : true;
  let exportsDone = !shared ? false : true;
  let importsDone = !shared;
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
  for (const s of secs) {
    if (s.id !== 0) flushBefore(s.id);
    const body = bytes.subarray(s.start, s.end);
    if (s.id === 5) emit(5, [capMemories(body, settings.maxMemoryPages)]);
    else if (s.id === 2 && shared) {
      const r = new Reader(body);
      const n = r.u32();
      emit(2, [encodeU32(n + newImports.length), body.subarray(r.pos), ...newImports]);
      importsDone = true;
    } else if (remap && s.id === 6) emit(6, [remapGlobals(body, remap)]);
    else if (remap && s.id === 7) emit(7, [remapExports(body, remap)]);
    else if (remap && s.id === 9) emit(9, [remapElements(body, remap)]);
    else if (remap && s.id === 11) emit(11, [remapData(body, remap)]);
    else if (s.id === 6) {
      const r = new Reader(body);
      const n = r.u32();
      emit(6, [encodeU32(n + newGlobals.length), body.subarray(r.pos), ...newGlobals]);
      globalsDone = true;
    } else if (s.id === 7) {
      const r = new Reader(body);
      const n = r.u32();
      emit(7, [encodeU32(n + newExports.length), body.subarray(r.pos), ...newExports]);
      exportsDone = true;
    } else if (s.id === 10) {
      const r = new Reader(body);
      const n = r.u32();
      const parts: ArrayLike<number>[] = [encodeU32(n)];
      for (let i = 0; i < n; i++) {
        const size = r.u32();
        const type = info.types[info.functionTypes[importedFuncs + i]!];
        if (!type) throw new Error(`function ${importedFuncs + i} has no type`);
        const fn = meterFunction(bytes.subarray(s.start + r.pos, s.start + r.pos + size), type.params.length, shapes[i]!.hasLoop, g, report, leafCost, leafCost(importedFuncs + i) !== undefined, remap);
        r.skip(size);
        parts.push(encodeU32(fn.length), fn);
      }
      emit(10, parts);
    } else out.push(bytes.subarray(s.headerStart, s.end));
  }
  flushBefore(-1);
  return { bytes: concat(out), report };
}

function skipValType(r: Reader) {
  const b = r.byte();
  if (b === 0x63 || b === 0x64) r.s33();
}
function capMemories(body: Uint8Array, maxPages: number): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const parts: ArrayLike<number>[] = [encodeU32(n)];
  for (let i = 0; i < n; i++) {
    const flags = r.byte();
    if (flags & 0x04) throw new Error("64-bit memories are not supported");
    const min = r.u32();
    const max = flags & 1 ? r.u32() : 65536;
    if (min > maxPages) {
      throw new SoloError("MEMORY_LIMIT", `module needs ${min * PAGE} bytes of memory at start; the limit is ${maxPages * PAGE}`, { initialBytes: min * PAGE, limitBytes: maxPages * PAGE });
    }
    parts.push([flags | 1, ...encodeU32(min), ...encodeU32(Math.min(max, maxPages))]);
  }
  return concat(parts);
}

interface Globals { fuel: number; limit: number; failed: number }

/** Rewrites one function body (locals + expression). A leaf gets no charges of its own. */
function meterFunction(body: Uint8Array, params: number, cached: boolean, g: Globals, report: MeterReport, leafCost: (f: number) => number | undefined, leaf: boolean, remap?: (idx: number) => number): Uint8Array {
  report.functions++;
  if (leaf) report.leafFunctions++;
  const r = new Reader(body);
  const localDecls = r.u32();
  let locals = params;
  for (let i = 0; i < localDecls; i++) {
    locals += r.u32();
    skipValType(r);
  }
  const declsEnd = r.pos;
  const codeStart = r.pos;
  // Our locals go after the function's own: the cached counter (i64) and a grow delta (i32).
  const fuelLocal = locals;
  const deltaLocal = cached ? locals + 1 : locals;
  const ourDecls = cached ? [1, I64, 1, I32] : [1, I32];

  const out: ArrayLike<number>[] = [];
  let copyFrom = codeStart;
  const flush = (to: number) => {
    if (to > copyFrom) out.push(body.subarray(copyFrom, to));
    copyFrom = to;
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
  const fine = cached && !leaf;
  const check = cached
    ? [OP.i64Const, 0, OP.i64LtS, OP.if, EMPTY, OP.localGet, ...encodeU32(fuelLocal), OP.globalSet, ...encodeU32(g.fuel), OP.unreachable, OP.end]
    : [OP.globalGet, ...encodeU32(g.fuel), OP.i64Const, 0, OP.i64LtS, OP.if, EMPTY, OP.unreachable, OP.end];
  const charge = (cost: number, reload: boolean, checked: boolean): number[] => {
    if (leaf) return [];
    if (cost === 0 && !reload) return [];
    const c = encodeS64(BigInt(cost));
    if (!cached) return [OP.globalGet, ...encodeU32(g.fuel), OP.i64Const, ...c, OP.i64Sub, OP.globalSet, ...encodeU32(g.fuel), ...(checked ? check : [])];
    const load = reload ? [OP.globalGet, ...encodeU32(g.fuel)] : [OP.localGet, ...encodeU32(fuelLocal)];
    if (!checked) return [...load, OP.i64Const, ...c, OP.i64Sub, OP.localSet, ...encodeU32(fuelLocal)];
    return [...load, OP.i64Const, ...c, OP.i64Sub, OP.localTee, ...encodeU32(fuelLocal), ...check];
  };
  const writeBack = cached ? [OP.localGet, ...encodeU32(fuelLocal), OP.globalSet, ...encodeU32(g.fuel)] : [];

  if (!leaf) openSegment(true);
  // Control stack: 0 = function, 1 = block/if/try, 2 = loop.
  const control: number[] = [0];
  const targetsFunction = (depth: number) => depth === control.length - 1;
  while (!r.done) {
    const at = r.pos;
    const op = r.byte();
    segment.cost++;
    switch (op) {
      case 0x02: case 0x06: skipBlockType(r); control.push(1); break;
      case 0x04:
        skipBlockType(r);
        control.push(1);
        if (fine) { flush(r.pos); openSegment(false, false); } // the then-arm
        break;
      case 0x05:
        if (fine) { flush(r.pos); openSegment(false, false); } // the else-arm
        break;
      case 0x03: skipBlockType(r); control.push(2); report.loops++; flush(r.pos); openSegment(false); break;
      case 0x1f: {
        skipBlockType(r);
        for (let n = r.u32(), i = 0; i < n; i++) { const k = r.byte(); if (k < 2) r.u32(); r.u32(); }
        control.push(1);
        break;
      }
      case 0x0b: {
        const kind = control.pop();
        if (kind === 0) { flush(at); out.push(writeBack); break; }
        if (kind === 2 || fine) { flush(r.pos); openSegment(false, kind === 2); } // a branch target
        break;
      }
      case 0x0c: case 0x0d: case 0xd5: case 0xd6: {
        const depth = r.u32();
        if (cached && targetsFunction(depth)) { flush(at); out.push(writeBack); }
        break;
      }
      case 0x0e: {
        for (let n = r.u32(), i = 0; i < n; i++) r.u32();
        r.u32();
        if (cached) { flush(at); out.push(writeBack); }
        break;
      }
      case 0x0f: case 0x08: case 0x09: case 0x0a:
        if (op === 0x08 || op === 0x09) r.u32();
        if (cached) { flush(at); out.push(writeBack); }
        break;
      case 0x10: case 0x11: case 0x14: {
        const target = r.u32();
        if (op === 0x11) r.u32();
        const inline = op === 0x10 ? leafCost(target) : undefined;
        if (inline !== undefined) {
          segment.cost += inline; // a leaf's whole body, charged here; no counter traffic
          break;
        }
        if (cached) { flush(at); out.push(writeBack); }
        flush(r.pos);
        openSegment(true, !fine);
        break;
      }
      case 0x12: case 0x13: case 0x15:
        r.u32();
        if (op === 0x13) r.u32();
        if (cached) { flush(at); out.push(writeBack); }
        break;
      case 0x18: case 0x07: r.u32(); break;
      case 0x1c: for (let n = r.u32(), i = 0; i < n; i++) skipValType(r); break;
      case 0x23: case 0x24: {
        const idx = r.u32();
        if (remap && remap(idx) !== idx) {
          flush(at);
          out.push([op, ...encodeU32(remap(idx))]);
          copyFrom = r.pos;
        }
        break;
      }
      case 0x20: case 0x21: case 0x22: case 0x25: case 0x26: case 0xd2: r.u32(); break;
      case 0x3f: r.u32(); break;
      case 0x40: {
        const mem = r.u32();
        report.growSites++;
        flush(at);
        copyFrom = r.pos;
        out.push(growCheck(mem, deltaLocal, g));
        break;
      }
      case 0x41: case 0x42: r.skipLeb(); break;
      case 0x43: r.skip(4); break;
      case 0x44: r.skip(8); break;
      case 0xd0: skipBlockType(r); break;
      case 0xfc: skipFc(r); break;
      case 0xfd: skipSimd(r); break;
      case 0xfe: {
        const sub = r.u32();
        if (sub === 0x03) r.byte();
        else skipMemarg(r);
        break;
      }
      default:
        if (op >= 0x28 && op <= 0x3e) skipMemarg(r);
        else if ((op >= 0x45 && op <= 0xc4) || op === 0x00 || op === 0x01 || op === 0x19 || op === 0x1a || op === 0x1b || op === 0xd1 || op === 0xd3 || op === 0xd4) { /* no immediates */ }
        else throw new Error(`unsupported instruction 0x${op.toString(16)} at byte ${at}`);
    }
  }
  flush(r.pos);
  closeSegment();
  const head = new Reader(body);
  head.u32();
  return concat([encodeU32(localDecls + ourDecls.length / 2), body.subarray(head.pos, declsEnd), ourDecls, ...out]);
}

// memory.grow with the delta on the stack -> the same result, refused past solo_memory_limit.
function growCheck(mem: number, deltaLocal: number, g: Globals): number[] {
  const m = encodeU32(mem);
  const d = encodeU32(deltaLocal);
  return [
    OP.localSet, ...d,
    OP.globalGet, ...encodeU32(g.limit), OP.memorySize, ...m, OP.i32Sub, OP.localGet, ...d, OP.i32LtU,
    OP.if, I32,
    OP.i32Const, 1, OP.globalSet, ...encodeU32(g.failed), OP.i32Const, 0x7f,
    0x05,
    OP.localGet, ...d, OP.memoryGrow, ...m,
    OP.end,
  ];
}

// ---- global index remapping (shared counters) ----

/** Copies a constant expression up to and including its `end`, remapping global.get. */
function constExpr(r: Reader, remap: (idx: number) => number): number[] {
  const out: number[] = [];
  for (;;) {
    const at = r.pos;
    const op = r.byte();
    if (op === 0x23) {
      out.push(op, ...encodeU32(remap(r.u32())));
      continue;
    }
    skipImmediates(op, r);
    for (let i = at; i < r.pos; i++) out.push(r.bytes[i]!);
    if (op === OP.end) return out;
  }
}

function copyFrom(r: Reader, from: number): Uint8Array {
  return r.bytes.subarray(from, r.pos);
}

function remapGlobals(body: Uint8Array, remap: (idx: number) => number): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const out: ArrayLike<number>[] = [encodeU32(n)];
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    skipValType(r);
    r.byte();
    out.push(copyFrom(r, at), constExpr(r, remap));
  }
  return concat(out);
}

function remapExports(body: Uint8Array, remap: (idx: number) => number): Uint8Array {
  const r = new Reader(body);
  const n = r.u32();
  const out: ArrayLike<number>[] = [encodeU32(n)];
  for (let i = 0; i < n; i++) {
    const at = r.pos;
    r.name();
    const kind = r.byte();
    const head = copyFrom(r, at);
    const idx = r.u32();
    out.push(head, encodeU32(kind === 3 ? remap(idx) : idx));
  }
  return concat(out);
}

function remapElements(body: Uint8Array, remap: (idx: number) => number): Uint8Array {
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
    if (flags & 3) skipValType(r); // elemkind or reftype (flags 1, 2, 3, 5, 6, 7)
    const count = r.u32();
    if (flags & 4) {
      out.push(copyFrom(r, at));
      for (let k = 0; k < count; k++) out.push(constExpr(r, remap));
    } else {
      for (let k = 0; k < count; k++) r.u32();
      out.push(copyFrom(r, at));
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

interface FunctionShape {
  instructions: number;
  hasLoop: boolean;
  indirect: boolean;
  calls: number[];
}

/** The most a leaf may cost: bigger bodies are metered like any other function. */
const LEAF_COST_CAP = 256;

function shapeOf(body: Uint8Array): FunctionShape {
  const r = new Reader(body);
  for (let n = r.u32(), i = 0; i < n; i++) {
    r.u32();
    skipValType(r);
  }
  const shape: FunctionShape = { instructions: 0, hasLoop: false, indirect: false, calls: [] };
  while (!r.done) {
    const op = r.byte();
    shape.instructions++;
    if (op === 0x03) shape.hasLoop = true;
    else if (op === 0x10 || op === 0x12) {
      const callee = r.u32();
      // `call f; unreachable` is a trap path (AssemblyScript's abort): it never returns here,
      // so it does not stop the caller from being a leaf.
      if (!(op === 0x10 && r.bytes[r.pos] === 0x00)) shape.calls.push(callee);
      continue;
    } else if (op === 0x11 || op === 0x13 || op === 0x14 || op === 0x15) shape.indirect = true;
    skipImmediates(op, r);
  }
  return shape;
}

/**
 * A leaf is a function that is not an entry point, has no loop, makes no indirect call and
 * calls only leaves (trap paths aside): its cost is bounded and known, so callers charge it at
 * the call site. A trap path inside a leaf runs with the caller's charge not yet written back:
 * it ends in a trap anyway, reported as GUEST_TRAP.
 * Returns a function index's static cost, or undefined when it is not a leaf.
 */
function leafCosts(shapes: FunctionShape[], importedFuncs: number, entries: Set<number>): (f: number) => number | undefined {
  const memo = new Map<number, number | null>(); // null: visiting, or not a leaf
  const cost = (f: number): number | undefined => {
    if (f < importedFuncs || entries.has(f)) return undefined;
    const known = memo.get(f);
    if (known !== undefined) return known ?? undefined;
    memo.set(f, null);
    const shape = shapes[f - importedFuncs];
    if (!shape || shape.hasLoop || shape.indirect) return undefined;
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
  return cost;
}


function skipImmediates(op: number, r: Reader) {
  switch (op) {
    case 0x02: case 0x03: case 0x04: case 0x06: case 0xd0: skipBlockType(r); return;
    case 0x1f: skipBlockType(r); for (let n = r.u32(), i = 0; i < n; i++) { const k = r.byte(); if (k < 2) r.u32(); r.u32(); } return;
    case 0x0e: for (let n = r.u32(), i = 0; i < n; i++) r.u32(); r.u32(); return;
    case 0x11: case 0x13: r.u32(); r.u32(); return;
    case 0x0c: case 0x0d: case 0xd5: case 0xd6: case 0x10: case 0x12: case 0x14: case 0x15: case 0x08: case 0x09:
    case 0x18: case 0x07: case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2:
    case 0x3f: case 0x40:
      r.u32(); return;
    case 0x1c: for (let n = r.u32(), i = 0; i < n; i++) skipValType(r); return;
    case 0x41: case 0x42: r.skipLeb(); return;
    case 0x43: r.skip(4); return;
    case 0x44: r.skip(8); return;
    case 0xfc: skipFc(r); return;
    case 0xfd: skipSimd(r); return;
    case 0xfe: { const sub = r.u32(); if (sub === 0x03) r.byte(); else skipMemarg(r); return; }
    default:
      if (op >= 0x28 && op <= 0x3e) skipMemarg(r);
  }
}

function skipBlockType(r: Reader) {
  const b = r.bytes[r.pos]!;
  if (b === 0x63 || b === 0x64) { r.pos++; r.s33(); }
  else if (b >= 0x40 && b < 0x80) r.pos++;
  else r.s33();
}

function skipMemarg(r: Reader) {
  const align = r.u32();
  if (align & 0x40) r.u32();
  r.skipLeb();
}

function skipFc(r: Reader) {
  const sub = r.u32();
  if (sub <= 7) return;
  if (sub === 8 || sub === 10 || sub === 12 || sub === 14) { r.u32(); r.u32(); return; }
  if (sub === 9 || sub === 11 || sub === 13 || sub === 15 || sub === 16 || sub === 17) { r.u32(); return; }
  throw new Error(`unsupported instruction 0xfc ${sub}`);
}

function skipSimd(r: Reader) {
  const sub = r.u32();
  if (sub <= 11 || sub === 92 || sub === 93) skipMemarg(r);
  else if (sub === 12 || sub === 13) r.skip(16);
  else if (sub >= 21 && sub <= 34) r.byte();
  else if (sub >= 84 && sub <= 91) { skipMemarg(r); r.byte(); }
}
