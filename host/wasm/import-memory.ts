// A core module that defines its one memory, rewritten to import it instead (same limits), so the
// worker can hand it a memory it already touched and zeroed (runtime/memory-pool.ts). On this
// machine V8 writing a QuickJS guest's Wizer snapshot (~200 KB of data segments) into a fresh
// memory costs ~1 ms of page faults; into touched pages a few microseconds. Nothing else moves:
// the memory keeps index 0, its exports and data segments stay as they were, and the guest sees
// the same size and the same bytes as with a memory of its own. Build-time, O(bytes), one copy.
import { Reader, concat, encodeName, encodeU32, sections } from "./binary.ts";

/** Where a rewritten module imports its memory from. */
export const MEMORY_IMPORT = { module: "solo:memory", name: "memory" } as const;

/** A memory's limits, in 64 KiB pages, and the bytes its active data segments write. */
export interface MemoryShape {
  initial: number;
  maximum?: number;
  /**
   * The 4 KiB pages the module's active data segments write (which instantiation touches anyway),
   * as [from, to) byte runs, page-aligned, in order; absent when there are none or an offset is not
   * a constant. Wizer leaves zero runs out, so the pages between segments stay untouched.
   */
  data?: [number, number][];
}

const SECTION = { type: 1, import: 2, memory: 5, data: 11 } as const;
const KIND_MEMORY = 0x02;

/**
 * The module importing its memory from MEMORY_IMPORT, and that memory's shape; undefined when it
 * is not one defined, unshared, 32-bit memory with no memory imported (left as it is).
 */
export function importMemory(module: Uint8Array): { bytes: Uint8Array<ArrayBuffer>; shape: MemoryShape } | undefined {
  const all = sections(module);
  const mem = all.filter((s) => s.id === SECTION.memory);
  if (mem.length !== 1) return undefined;
  const r = new Reader(module, mem[0]!.start, mem[0]!.end);
  if (r.u32() !== 1) return undefined;
  const limitsStart = r.pos;
  const shape = readLimits(r);
  if (!shape || r.pos !== mem[0]!.end) return undefined;
  const limits = module.subarray(limitsStart, r.pos);
  const data = dataRange(module, all);
  if (data) shape.data = data;
  const imports = all.find((s) => s.id === SECTION.import);
  if (imports && importsOf(module, imports.start, imports.end).some((i) => i.kind === KIND_MEMORY)) return undefined;
  const entry = [...encodeName(MEMORY_IMPORT.module), ...encodeName(MEMORY_IMPORT.name), KIND_MEMORY, ...limits];
  const chunks: ArrayLike<number>[] = [module.subarray(0, 8)];
  const section = (id: number, body: ArrayLike<number>[]) => {
    const size = body.reduce((n, b) => n + b.length, 0);
    chunks.push([id, ...encodeU32(size)], ...body);
  };
  let added = false;
  for (const s of all) {
    if (s.id === SECTION.memory) continue;
    if (s.id === SECTION.import) {
      const ir = new Reader(module, s.start, s.end);
      const count = ir.u32();
      section(SECTION.import, [encodeU32(count + 1), module.subarray(ir.pos, s.end), entry]);
      added = true;
      continue;
    }
    // No import section: a new one goes before the first section that must follow it.
    if (!added && s.id !== 0 && s.id !== SECTION.type) {
      section(SECTION.import, [encodeU32(1), entry]);
      added = true;
    }
    chunks.push(module.subarray(s.headerStart, s.end));
  }
  return { bytes: concat(chunks), shape };
}

/** The shape of the memory a rewritten module imports from MEMORY_IMPORT; undefined when it imports none from there. */
export function importedMemoryShape(module: Uint8Array): MemoryShape | undefined {
  const all = sections(module);
  const imports = all.find((s) => s.id === SECTION.import);
  if (!imports) return undefined;
  const shape = importsOf(module, imports.start, imports.end).find((i) => i.kind === KIND_MEMORY && i.module === MEMORY_IMPORT.module && i.name === MEMORY_IMPORT.name)?.shape;
  if (!shape) return undefined;
  const data = dataRange(module, all);
  return data ? { ...shape, data } : shape;
}

const OS_PAGE = 4096;

/** The pages active data segments on memory 0 write, as merged byte runs, when every offset is an i32.const. */
function dataRange(module: Uint8Array, all: ReturnType<typeof sections>): [number, number][] | undefined {
  const sec = all.find((s) => s.id === SECTION.data);
  if (!sec) return undefined;
  const r = new Reader(module, sec.start, sec.end);
  const runs: [number, number][] = [];
  for (let n = r.u32(), i = 0; i < n; i++) {
    const flags = r.u32();
    if (flags === 1) {
      r.skip(r.u32()); // passive: written by memory.init, if ever
      continue;
    }
    if (flags === 2 && r.u32() !== 0) return undefined;
    if (flags !== 0 && flags !== 2) return undefined;
    if (r.byte() !== 0x41) return undefined; // i32.const
    const offset = r.s33() >>> 0;
    if (r.byte() !== 0x0b) return undefined; // end
    const len = r.u32();
    r.skip(len);
    if (len === 0) continue;
    runs.push([Math.floor(offset / OS_PAGE) * OS_PAGE, Math.ceil((offset + len) / OS_PAGE) * OS_PAGE]);
  }
  if (runs.length === 0) return undefined;
  runs.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [runs[0]!];
  for (const run of runs) {
    const last = merged.at(-1)!;
    if (run[0] <= last[1]) last[1] = Math.max(last[1], run[1]);
    else merged.push(run);
  }
  return merged;
}


function importsOf(module: Uint8Array, start: number, end: number): { module: string; name: string; kind: number; shape?: MemoryShape }[] {
  const r = new Reader(module, start, end);
  const out: { module: string; name: string; kind: number; shape?: MemoryShape }[] = [];
  for (let n = r.u32(), i = 0; i < n; i++) {
    const mod = r.name();
    const name = r.name();
    const kind = r.byte();
    if (kind === 0x00) r.u32(); // function: type index
    else if (kind === 0x01) {
      r.byte(); // table: element type, then limits
      skipLimits(r);
    } else if (kind === KIND_MEMORY) {
      const at = r.pos;
      const shape = readLimits(r);
      if (!shape) {
        r.pos = at;
        skipLimits(r);
      }
      out.push({ module: mod, name, kind, ...(shape && { shape }) });
      continue;
    } else if (kind === 0x03) {
      r.byte(); // global: value type, mutability
      r.byte();
    } else if (kind === 0x04) {
      r.byte(); // tag: attribute, type index
      r.u32();
    } else throw new RangeError(`import kind ${kind}`);
    out.push({ module: mod, name, kind });
  }
  return out;
}

/** Limits of an unshared 32-bit memory (flags 0 or 1); undefined (position past the flags) for any other. */
function readLimits(r: Reader): MemoryShape | undefined {
  const flags = r.byte();
  if (flags > 1) return undefined;
  const initial = r.u32();
  return flags === 1 ? { initial, maximum: r.u32() } : { initial };
}

function skipLimits(r: Reader): void {
  const flags = r.byte();
  r.skipLeb();
  if (flags & 1) r.skipLeb();
}
