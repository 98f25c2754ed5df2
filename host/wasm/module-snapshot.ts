// A core module's state written back into it: Solo's own pre-initialisation of QuickJS guests
// (compile/quickjs-snapshot.ts) runs a module, then makes a module that starts where that one
// stopped. Two steps:
//   exposeState: the module exporting what a snapshot reads and the engine would otherwise hide:
//     each mutable global it defines (SNAPSHOT_GLOBAL + index) and the memory it defines.
//   applySnapshot: the original module with those globals' initial values set to what was read,
//     its memory's initial size set to the size it grew to, and its data section replaced by
//     active segments holding the memory's non-zero bytes.
// Only what this needs is supported: numeric globals, one memory defined at index 0, data that is
// all active at constant offsets (a module with passive segments, or code that runs memory.init
// or data.drop, is refused: both name segments by index). Tables are not written back: the
// caller checks that none changed size. Build-time, O(bytes).
import { Reader, concat, encodeName, encodeS64, encodeU32, sections, type Section } from "./binary.ts";
import { valueType } from "./instructions.ts";
import { instructions } from "./meter.ts";

/** Export names exposeState adds: a defined global's export is SNAPSHOT_GLOBAL + its index among defined globals. */
export const SNAPSHOT_GLOBAL = "solo_snapshot_global_";
export const SNAPSHOT_MEMORY = "solo_snapshot_memory";

const SECTION = { import: 2, memory: 5, global: 6, export: 7, dataCount: 12, code: 10, data: 11 } as const;
const KIND = { memory: 0x02, global: 0x03 } as const;
const T = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c } as const;
/** Sections that come after the export section (start, element, data count, code, data). */
const AFTER_EXPORTS: ReadonlySet<number> = new Set([8, 9, 12, 10, 11]);

export class SnapshotUnsupported extends Error {}

export interface DefinedGlobal {
  /** Index among the module's defined globals (its global index minus imported globals). */
  index: number;
  type: number;
  mutable: boolean;
}

/** What a module's snapshot needs read after it ran. */
export interface StateShape {
  /** The mutable globals the module defines: each exported as SNAPSHOT_GLOBAL + index. */
  globals: DefinedGlobal[];
  /** The module defines memory 0 (exported as SNAPSHOT_MEMORY). */
  memory: boolean;
}

export interface ModuleState {
  globals: Map<number, number | bigint>;
  /** The memory's bytes (their length is the size it grew to, in whole pages). */
  memory?: Uint8Array;
  /** The memory's runs as snapshotRuns gives them, when the caller has them already. */
  runs?: [number, number][];
}

interface Layout {
  all: Section[];
  importedGlobals: number;
  importsMemory: boolean;
  globals: (DefinedGlobal & { start: number; end: number })[];
  definesMemory: boolean;
}

function layout(module: Uint8Array): Layout {
  const all = sections(module);
  let importedGlobals = 0;
  let importsMemory = false;
  const globals: Layout["globals"] = [];
  let definesMemory = false;
  for (const s of all) {
    const r = new Reader(module, s.start, s.end);
    if (s.id === SECTION.import) {
      for (let n = r.u32(), i = 0; i < n; i++) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0x00) r.u32();
        else if (kind === 0x01) { r.byte(); limits(r); }
        else if (kind === KIND.memory) { limits(r); importsMemory = true; }
        else if (kind === KIND.global) { r.byte(); r.byte(); importedGlobals++; }
        else throw new SnapshotUnsupported(`import kind ${kind}`);
      }
    } else if (s.id === SECTION.memory) {
      const n = r.u32();
      if (n > 1) throw new SnapshotUnsupported("more than one memory");
      definesMemory = n === 1;
    } else if (s.id === SECTION.global) {
      for (let n = r.u32(), i = 0; i < n; i++) {
        const start = r.pos;
        const type = r.byte();
        const mutable = r.byte() === 1;
        skipConstExpr(r);
        globals.push({ index: i, type, mutable, start, end: r.pos });
      }
    }
  }
  if (importsMemory && definesMemory) throw new SnapshotUnsupported("a module that imports a memory and defines one");
  return { all, importedGlobals, importsMemory, globals, definesMemory };
}

/** The state a snapshot of `module` reads, and the module exporting it. */
export function exposeState(module: Uint8Array): { bytes: Uint8Array<ArrayBuffer>; shape: StateShape } {
  const l = layout(module);
  const globals = l.globals.filter((g) => g.mutable);
  for (const g of globals) if (!isNumeric(g.type)) throw new SnapshotUnsupported(`a mutable global of type 0x${g.type.toString(16)}`);
  const added: number[][] = globals.map((g) => [...encodeName(SNAPSHOT_GLOBAL + g.index), KIND.global, ...encodeU32(l.importedGlobals + g.index)]);
  if (l.definesMemory) added.push([...encodeName(SNAPSHOT_MEMORY), KIND.memory, 0]);
  const shape = { globals: globals.map(({ index, type, mutable }) => ({ index, type, mutable })), memory: l.definesMemory };
  if (added.length === 0) return { bytes: concat([module]), shape };
  const chunks: ArrayLike<number>[] = [module.subarray(0, 8)];
  const section = (id: number, body: ArrayLike<number>[]) => chunks.push([id, ...encodeU32(body.reduce((n, b) => n + b.length, 0))], ...body);
  let done = false;
  for (const s of l.all) {
    if (s.id === SECTION.export) {
      const r = new Reader(module, s.start, s.end);
      const count = r.u32();
      section(SECTION.export, [encodeU32(count + added.length), module.subarray(r.pos, s.end), ...added]);
      done = true;
      continue;
    }
    if (!done && AFTER_EXPORTS.has(s.id)) {
      section(SECTION.export, [encodeU32(added.length), ...added]);
      done = true;
    }
    chunks.push(module.subarray(s.headerStart, s.end));
  }
  if (!done) section(SECTION.export, [encodeU32(added.length), ...added]);
  return { bytes: concat(chunks), shape };
}

/** Reads a module's state from its running instance's exports (made by exposeState). */
export function readState(shape: StateShape, exports: WebAssembly.Exports): ModuleState {
  const globals = new Map<number, number | bigint>();
  for (const g of shape.globals) {
    const v = exports[SNAPSHOT_GLOBAL + g.index];
    if (!(v instanceof WebAssembly.Global)) throw new SnapshotUnsupported(`global ${g.index} was not exported`);
    globals.set(g.index, v.value as number | bigint);
  }
  if (!shape.memory) return { globals };
  const m = exports[SNAPSHOT_MEMORY];
  if (!(m instanceof WebAssembly.Memory)) throw new SnapshotUnsupported("the memory was not exported");
  return { globals, memory: new Uint8Array(m.buffer) };
}

/** Zero runs shorter than this stay inside a segment: a segment's header costs ~8 bytes and V8 some time per segment. */
const MERGE_GAP = 64;
/** The most segments a snapshot writes (inspect's maxDataSegments is 10,000): past it, longer zero runs are kept. */
export const MAX_SNAPSHOT_SEGMENTS = 8_192;
const PAGE = 65536;

/** `module` (the one exposeState was given) starting in `state`. */
export function applySnapshot(module: Uint8Array, state: ModuleState): Uint8Array<ArrayBuffer> {
  const l = layout(module);
  if (state.memory && !l.definesMemory) throw new SnapshotUnsupported("a memory snapshot for a module that defines none");
  if (state.memory && namesSegments(module, l.all)) throw new SnapshotUnsupported("code that names data segments (memory.init, data.drop)");
  const chunks: ArrayLike<number>[] = [module.subarray(0, 8)];
  const section = (id: number, body: ArrayLike<number>[]) => chunks.push([id, ...encodeU32(body.reduce((n, b) => n + b.length, 0))], ...body);
  const data = state.memory && dataSection(state.memory, state.runs ?? snapshotRuns(state.memory));
  let dataWritten = false;
  for (const s of l.all) {
    if (s.id === SECTION.global && state.globals.size > 0) {
      const body: ArrayLike<number>[] = [encodeU32(l.globals.length)];
      for (const g of l.globals) {
        const v = state.globals.get(g.index);
        body.push(v === undefined ? module.subarray(g.start, g.end) : [g.type, 1, ...constExpr(g.type, v), 0x0b]);
      }
      section(SECTION.global, body);
      continue;
    }
    if (s.id === SECTION.memory && state.memory) {
      section(SECTION.memory, [[1], memoryLimits(module, s, state.memory.length / PAGE)]);
      continue;
    }
    if (s.id === SECTION.dataCount && data) {
      section(SECTION.dataCount, [encodeU32(segments(data))]);
      continue;
    }
    if (s.id === SECTION.data && data) {
      passiveFree(module, s);
      section(SECTION.data, data);
      dataWritten = true;
      continue;
    }
    chunks.push(module.subarray(s.headerStart, s.end));
    // No data section of its own: the snapshot's goes right after the code section.
    if (s.id === SECTION.code && data && !l.all.some((x) => x.id === SECTION.data)) {
      section(SECTION.data, data);
      dataWritten = true;
    }
  }
  if (data && !dataWritten) section(SECTION.data, data);
  return concat(chunks);
}

/**
 * The [start, end) runs of `memory` a snapshot writes as segments: every non-zero byte, at most
 * MAX_SNAPSHOT_SEGMENTS runs, zero runs under the gap kept inside (the gap grows until they fit).
 */
export function snapshotRuns(memory: Uint8Array): [number, number][] {
  let runs = nonZeroRuns(memory, MERGE_GAP);
  for (let gap = MERGE_GAP * 4; runs.length > MAX_SNAPSHOT_SEGMENTS; gap *= 4) runs = nonZeroRuns(memory, gap);
  return runs;
}

/** Active segments for memory 0, one per run. */
function dataSection(memory: Uint8Array, runs: [number, number][]): ArrayLike<number>[] {
  const out: ArrayLike<number>[] = [encodeU32(runs.length)];
  for (const [start, end] of runs) out.push([0x00, 0x41, ...encodeS64(BigInt(start | 0)), 0x0b, ...encodeU32(end - start)], memory.subarray(start, end));
  return out;
}

/** The [start, end) runs of `memory` holding its non-zero bytes, zero runs shorter than `gap` inside them. */
function nonZeroRuns(memory: Uint8Array, gap: number): [number, number][] {
  const runs: [number, number][] = [];
  const n = memory.length;
  let i = 0;
  // Zero words skipped four bytes at a time (a memory the top-level code grew is mostly zero).
  const words = new Uint32Array(memory.buffer, memory.byteOffset, memory.byteLength >> 2);
  while (i < n) {
    while ((i & 3) === 0 && i + 4 <= n && words[i >> 2] === 0) i += 4;
    while (i < n && memory[i] === 0) i++;
    if (i >= n) break;
    const start = i;
    let end = i;
    // Extend over zero gaps shorter than MERGE_GAP.
    while (i < n) {
      if (memory[i] !== 0) {
        end = ++i;
        continue;
      }
      let j = i;
      while (j < n && memory[j] === 0 && j - end < gap) j++;
      if (j < n && memory[j] !== 0 && j - end < gap) i = j;
      else break;
    }
    runs.push([start, end]);
    i = end;
  }
  return runs;
}

function memoryLimits(module: Uint8Array, s: Section, pages: number): number[] {
  const r = new Reader(module, s.start, s.end);
  r.u32();
  const flags = r.byte();
  if (flags !== 0x00 && flags !== 0x01) throw new SnapshotUnsupported(`memory limits flags 0x${flags.toString(16)} (shared or 64-bit)`);
  r.u32();
  if (flags === 0x00) return [0x00, ...encodeU32(pages)];
  const max = r.u32();
  if (pages > max) throw new SnapshotUnsupported(`the memory grew to ${pages} pages, past its maximum ${max}`);
  return [0x01, ...encodeU32(pages), ...encodeU32(max)];
}

/** The segment count dataSection wrote first. */
function segments(data: ArrayLike<number>[]): number {
  return new Reader(Uint8Array.from(data[0]!)).u32();
}

/** Some function's code runs memory.init or data.drop (both name a segment by index). */
function namesSegments(module: Uint8Array, all: Section[]): boolean {
  const code = all.find((s) => s.id === SECTION.code);
  if (!code) return false;
  const r = new Reader(module, code.start, code.end);
  for (let n = r.u32(), i = 0; i < n; i++) {
    const size = r.u32();
    const end = r.pos + size;
    for (let groups = r.u32(), g = 0; g < groups; g++) {
      r.u32();
      valueType(r);
    }
    for (const ins of instructions(module.subarray(r.pos, end))) if (ins.op === 0xfc && (ins.sub === 8 || ins.sub === 9)) return true;
    r.pos = end;
  }
  return false;
}

/** Refuses a data section with passive segments (code may name them by index). */
function passiveFree(module: Uint8Array, s: Section): void {
  const r = new Reader(module, s.start, s.end);
  for (let n = r.u32(), i = 0; i < n; i++) {
    const flags = r.u32();
    if (flags === 1) throw new SnapshotUnsupported("a passive data segment");
    if (flags === 2) r.u32();
    else if (flags !== 0) throw new SnapshotUnsupported(`data segment flags ${flags}`);
    skipConstExpr(r);
    r.skip(r.u32());
  }
}

function limits(r: Reader): void {
  const flags = r.byte();
  r.u32();
  if (flags & 0x01) r.u32();
}

const isNumeric = (t: number) => t === T.i32 || t === T.i64 || t === T.f32 || t === T.f64;

function constExpr(type: number, v: number | bigint): number[] {
  switch (type) {
    case T.i32:
      return [0x41, ...encodeS64(BigInt(Number(v) | 0))];
    case T.i64:
      return [0x42, ...encodeS64(BigInt.asIntN(64, BigInt(v)))];
    case T.f32: {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, Number(v), true);
      return [0x43, ...b];
    }
    case T.f64: {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, Number(v), true);
      return [0x44, ...b];
    }
  }
  throw new SnapshotUnsupported(`global type 0x${type.toString(16)}`);
}

/** Skips a constant expression up to and including its `end` (extended-const arithmetic included). */
function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.byte();
    switch (op) {
      case 0x0b:
        return;
      case 0x41: case 0x42: r.skipLeb(); break;
      case 0x43: r.skip(4); break;
      case 0x44: r.skip(8); break;
      case 0x23: case 0xd2: r.u32(); break;
      case 0xd0: r.byte(); break;
      case 0x6a: case 0x6b: case 0x6c: case 0x7c: case 0x7d: case 0x7e: break;
      case 0xfd: if (r.u32() !== 12) throw new SnapshotUnsupported("a vector constant expression"); r.skip(16); break;
      default: throw new SnapshotUnsupported(`constant expression opcode 0x${op.toString(16)}`);
    }
  }
}
