// Source maps as Solo keeps them: inside the artifact, so a guest's failure can name its own line.
//
// - An AssemblyScript core module carries asc's map in a custom section (SOURCE_MAP_SECTION): its
//   generated "columns" are byte offsets in the module, made relative to the code section here so
//   that re-encoding the sections before it (component wrapping) moves nothing. Metering moves code
//   inside function bodies, so the meter adds METER_OFFSETS_SECTION: for each run of original bytes
//   it copied, where it now starts and where it came from. V8's wasm frames give offsets in the
//   metered module; the two sections take them back to the source.
// - A QuickJS component carries esbuild's map of its bundle in a top-level custom section (the
//   builder hands it to the worker as data: the runtime sees only the core modules).
//
// Sources are named canonically: GUEST_SOURCE is the guest's own file, whose name the deploy gave
// (it is not part of the compile key, so not in the map); "~lib/..." and "solo/..." are the
// library and the SDK; ENTRY_SOURCE is Solo's generated entry. Both sections are read only when a
// guest fails; mappings are decoded once per map, O(length).
import { Reader, concat, encodeName, encodeU32, sections } from "./binary.ts";

export const SOURCE_MAP_SECTION = "solo:source-map";
export const METER_OFFSETS_SECTION = "solo:meter-offsets";
/** The guest's own file in a map's sources; shown under the name the deploy gave. */
export const GUEST_SOURCE = "<guest>";
/** Solo's generated entry: its frames are never shown. */
export const ENTRY_SOURCE = "<solo-entry>";
/** What asc calls the guest's file (AssemblyScript's abort names it so in its message). */
export const AS_GUEST_PATH = "service.ts";
/**
 * Between a TS/JS guest's error message and its QuickJS stack, in the error the generated entry
 * throws: the host splits them (QuickJS hands the host only the message).
 */
export const JS_STACK_MARKER = "\n\u0000solo-stack\u0000\n";

/** What SOURCE_MAP_SECTION holds (JSON): a v3 map's sources and mappings, without contents or names. */
export interface StoredSourceMap {
  sources: string[];
  mappings: string;
  /** A wasm map: what to add to a code-section-relative offset to get the map's column. */
  codeStart?: number;
  /**
   * A wasm map: where each defined function's body starts (code-section-relative), and the index
   * of the first (the number of imported functions). Bounds the search for the guest's line when
   * library code was inlined into a guest function.
   */
  functions?: number[];
  firstFunction?: number;
  /**
   * A wasm map: code-section-relative offsets (as deltas from the one before) of instructions
   * after which code may be reached other than by falling through: the search for the guest's
   * line stops there rather than name a line that did not lead to the trap.
   */
  barriers?: number[];
}

/** A position in a source: 1-based line and column. */
export interface SourcePosition {
  source: string;
  line: number;
  column: number;
}

/** A custom section with `name` and `payload`, to append to a module or a component. */
export function customSection(name: string, payload: Uint8Array | string): Uint8Array {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const head = encodeName(name);
  return concat([[0], encodeU32(head.length + data.length), head, data]);
}

/** The payload of the first top-level custom section named `name` (module or component), or undefined. */
export function readCustomSection(bytes: Uint8Array, name: string): Uint8Array | undefined {
  for (const s of sections(bytes)) {
    if (s.id !== 0) continue;
    const r = new Reader(bytes, s.start, s.end);
    if (r.name() === name) return bytes.subarray(r.pos, s.end);
  }
  return undefined;
}

/** Start of the code section's contents (its function count), or undefined when it has none. */
export function codeSectionStart(module: Uint8Array): number | undefined {
  return sections(module).find((s) => s.id === 10)?.start;
}

const BASE64 = new Int8Array(128).fill(-1);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("").forEach((c, i) => (BASE64[c.charCodeAt(0)] = i));

/**
 * The longest `mappings` decoded. A map comes with the artifact, and an uploaded component brings
 * its own: decoding one is the worker's time outside any fuel, so it is bounded. asc's map of a
 * guest with the library is ~10-200 KB; past this a failure is reported without a stack.
 */
export const MAX_MAPPINGS_CHARS = 4 << 20;
/** The largest SOURCE_MAP_SECTION read at all: the mappings and room for sources and tables. */
export const MAX_STORED_MAP_BYTES = 2 * MAX_MAPPINGS_CHARS;

/**
 * A decoded map: every segment as [column, source, line, column] (all 0-based) in one array,
 * sorted by column within each generated line; lineStarts[l] is line l's first segment. Flat, so
 * decoding costs O(length) time and ~16 bytes a segment, however the map is shaped.
 */
export class SourceMapIndex {
  private readonly segs: Int32Array;
  private readonly lineStarts: Uint32Array;

  constructor(readonly map: StoredSourceMap) {
    // Every field is a delta from the one before (columns: within the line); VLQ, base64.
    const text = map.mappings;
    if (text.length > MAX_MAPPINGS_CHARS) throw new Error(`source map: mappings of ${text.length} characters (at most ${MAX_MAPPINGS_CHARS} are decoded)`);
    let lines = 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 59) lines++;
    const lineStarts = new Uint32Array(lines + 1);
    // A kept segment has 4 fields of at least one character and a separator: at most length/4 + 1.
    const segs = new Int32Array(((text.length >> 2) + 1) * 4);
    let n = 0, line = 0;
    let col = 0, src = 0, srcLine = 0, srcCol = 0;
    let field = 0;
    const fields = [0, 0, 0, 0];
    const endSegment = () => {
      if (field === 0) return;
      col += fields[0]!;
      if (field >= 4) {
        src += fields[1]!;
        srcLine += fields[2]!;
        srcCol += fields[3]!;
        segs[n * 4] = col;
        segs[n * 4 + 1] = src;
        segs[n * 4 + 2] = srcLine;
        segs[n * 4 + 3] = srcCol;
        n++;
      }
      field = 0;
      fields.fill(0);
    };
    let value = 0, shift = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 44 /* , */ || c === 59 /* ; */) {
        endSegment();
        if (c === 59) {
          lineStarts[++line] = n;
          col = 0;
        }
        continue;
      }
      const digit = c < 128 ? BASE64[c]! : -1;
      if (digit < 0) throw new Error(`source map: bad character ${JSON.stringify(text[i])} in mappings`);
      value += (digit & 31) * 2 ** shift;
      if (digit & 32) {
        shift += 5;
        if (shift > 30) throw new Error("source map: number too long");
        continue;
      }
      const v = value % 2 === 1 ? -Math.floor(value / 2) : value / 2;
      if (field < 4) fields[field] = v;
      field++;
      value = 0;
      shift = 0;
    }
    endSegment();
    lineStarts[lines] = n;
    this.segs = segs.subarray(0, n * 4);
    this.lineStarts = lineStarts;
    for (let l = 0; l < lines; l++) sortLine(this.segs, lineStarts[l]!, lineStarts[l + 1]!);
  }

  /** The source position of generated (line, column), 0-based: the segment at or before it on that line. */
  lookup(line: number, column: number): SourcePosition | undefined {
    if (!(line >= 0 && line < this.lineStarts.length - 1)) return undefined;
    const found = at(this.segs, this.lineStarts[line]!, this.lineStarts[line + 1]!, column);
    return found < 0 ? undefined : this.position(found);
  }

  /**
   * The last position in `source` at or before generated (line, column) and not before column
   * `from`: for code inlined from elsewhere, the place in `source` that led to it. O(segments between).
   */
  lookupBefore(line: number, column: number, from: number, source: string): SourcePosition | undefined {
    const want = this.map.sources.indexOf(source);
    if (!(line >= 0 && line < this.lineStarts.length - 1) || want < 0) return undefined;
    const first = this.lineStarts[line]!;
    for (let i = at(this.segs, first, this.lineStarts[line + 1]!, column); i >= first && this.segs[i * 4]! >= from; i--) {
      if (this.segs[i * 4 + 1] === want) return this.position(i);
    }
    return undefined;
  }

  private position(i: number): SourcePosition | undefined {
    const s = this.segs;
    const source = this.map.sources[s[i * 4 + 1]!];
    // A hand-made map may walk lines and columns below zero: such a place names nothing.
    if (typeof source !== "string" || s[i * 4 + 2]! < 0 || s[i * 4 + 3]! < 0) return undefined;
    return { source, line: s[i * 4 + 2]! + 1, column: s[i * 4 + 3]! + 1 };
  }
}

/** Index of the last segment in [lo, end) whose column is at or before `column`, or -1. */
function at(segs: Int32Array, lo: number, end: number, column: number): number {
  let hi = end - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segs[mid * 4]! <= column) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Sorts segments [lo, end) by column, in place; maps from compilers are sorted already (O(n) check). */
function sortLine(segs: Int32Array, lo: number, end: number): void {
  let sorted = true;
  for (let i = lo + 1; i < end && sorted; i++) if (segs[i * 4]! < segs[(i - 1) * 4]!) sorted = false;
  if (sorted) return;
  const order = new Uint32Array(end - lo).map((_, k) => lo + k).sort((a, b) => segs[a * 4]! - segs[b * 4]! || a - b);
  const copy = segs.slice(lo * 4, end * 4);
  for (let k = 0; k < order.length; k++) segs.set(copy.subarray((order[k]! - lo) * 4, (order[k]! - lo) * 4 + 4), (lo + k) * 4);
}

/** Parses SOURCE_MAP_SECTION's payload; undefined when it is not one. */
export function parseStoredSourceMap(payload: Uint8Array | string): StoredSourceMap | undefined {
  try {
    const m = JSON.parse(typeof payload === "string" ? payload : new TextDecoder().decode(payload)) as StoredSourceMap;
    if (typeof m !== "object" || m === null || !Array.isArray(m.sources) || typeof m.mappings !== "string") return undefined;
    // An uploaded component's map is the uploader's: fields of the wrong shape are dropped, not trusted.
    const numbers = (xs: unknown) => Array.isArray(xs) && xs.every((x) => Number.isInteger(x) && x >= 0);
    return {
      sources: m.sources.map((x) => (typeof x === "string" ? x : "")),
      mappings: m.mappings,
      ...(Number.isInteger(m.codeStart) && m.codeStart! >= 0 && { codeStart: m.codeStart! }),
      ...(numbers(m.functions) && { functions: m.functions! }),
      ...(Number.isInteger(m.firstFunction) && m.firstFunction! >= 0 && { firstFunction: m.firstFunction! }),
      ...(numbers(m.barriers) && { barriers: m.barriers! }),
    };
  } catch {
    return undefined;
  }
}

/**
 * The meter's runs of copied bytes, [newStart, oldStart, length] each: newStart absolute in the
 * metered module, oldStart relative to the original module's code section. Sorted by newStart.
 */
export function encodeMeterOffsets(runs: number[]): Uint8Array {
  const out: number[][] = [encodeU32(runs.length / 3)];
  let prev = 0;
  for (let i = 0; i < runs.length; i += 3) {
    out.push(encodeU32(runs[i]! - prev), encodeU32(runs[i + 1]!), encodeU32(runs[i + 2]!));
    prev = runs[i]!;
  }
  return concat(out);
}

/** METER_OFFSETS_SECTION decoded: an offset in the metered module -> the original code-relative offset. */
export class MeterOffsets {
  private readonly runs: Uint32Array;

  constructor(payload: Uint8Array) {
    const r = new Reader(payload);
    const n = r.u32();
    // Each run takes at least 3 bytes: a count past that is a corrupt table, refused before allocating.
    if (n * 3 > payload.length) throw new Error(`meter offsets: ${n} runs in ${payload.length} bytes`);
    this.runs = new Uint32Array(n * 3);
    let at = 0;
    for (let i = 0; i < n; i++) {
      at += r.u32();
      this.runs[i * 3] = at;
      this.runs[i * 3 + 1] = r.u32();
      this.runs[i * 3 + 2] = r.u32();
    }
  }

  /**
   * The original offset of `offset`. Bytes the meter inserted (a charge, a write-back) stand for
   * the instruction they precede: the start of the next copied run.
   */
  original(offset: number): number | undefined {
    const runs = this.runs;
    let lo = 0, hi = runs.length / 3 - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (runs[mid * 3]! <= offset) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found >= 0 && offset < runs[found * 3]! + runs[found * 3 + 2]!) return runs[found * 3 + 1]! + (offset - runs[found * 3]!);
    const next = found + 1;
    return next * 3 < runs.length ? runs[next * 3 + 1] : undefined;
  }
}
