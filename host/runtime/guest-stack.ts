// A guest's failure in the guest's own terms: the engine's stack (V8's wasm frames, or QuickJS's
// frames in the bundle) mapped back through the source maps the artifact carries
// (wasm/source-map.ts) to frames of the guest's source. Runs only when a guest fails: nothing is
// read or decoded before. Decoding a map costs O(its length) once (cached per module / map);
// mapping a stack, a binary search per frame.
import {
  AS_GUEST_PATH, ENTRY_SOURCE, GUEST_SOURCE, JS_STACK_MARKER, MAX_STORED_MAP_BYTES, METER_OFFSETS_SECTION, MeterOffsets, SOURCE_MAP_SECTION, SourceMapIndex,
  parseStoredSourceMap, type SourcePosition,
} from "../wasm/source-map.ts";

/** One frame of a guest's stack, in its source: line and column are 1-based. */
export interface GuestFrame {
  file: string;
  line: number;
  column: number;
  function: string;
}

/** A mapped stack: every frame that maps to a source, innermost first, and the first in the guest's own file. */
export interface GuestStack {
  frames: GuestFrame[];
  at?: GuestFrame;
}

/** Where a failure is mapped from: the file name the deploy gave, and the maps. */
export interface GuestSource {
  /** The guest's file as the deploy named it (default: the service's name and the language's extension). */
  file: string;
  /** A QuickJS guest's bundle map (SOURCE_MAP_SECTION's JSON); a wasm guest's maps are in its module. */
  sourceMap?: string;
}

/** The most frames kept (V8 records 10 by default; QuickJS, all). */
const MAX_FRAMES = 32;

/** `file:line:column (function): message`, for the first line of a failure's message. */
export function located(at: GuestFrame, message: string): string {
  return `${at.file}:${at.line}:${at.column} (${at.function}): ${message}`;
}

// ---- wasm (AssemblyScript): V8's frames give a function index and an offset in the metered module ----

interface WasmMaps {
  index: SourceMapIndex;
  codeStart: number;
  offsets?: MeterOffsets;
  /** StoredSourceMap.barriers as absolute code-relative offsets. */
  barriers: Uint32Array;
}
const wasmMaps = new WeakMap<WebAssembly.Module, WasmMaps | null>();

function mapsOf(module: WebAssembly.Module): WasmMaps | undefined {
  let maps = wasmMaps.get(module);
  if (maps === undefined) {
    maps = null;
    const [payload] = WebAssembly.Module.customSections(module, SOURCE_MAP_SECTION);
    const map = payload && payload.byteLength <= MAX_STORED_MAP_BYTES ? parseStoredSourceMap(new Uint8Array(payload)) : undefined;
    // A map that cannot be read is remembered as none: the next trap does not read it again.
    if (map) {
      try {
        // The meter appends its table last (and drops any the module brought).
        const offsets = WebAssembly.Module.customSections(module, METER_OFFSETS_SECTION).at(-1);
        const barriers = new Uint32Array(map.barriers?.length ?? 0);
        let at = 0;
        map.barriers?.forEach((d, i) => (barriers[i] = at += d));
        maps = { index: new SourceMapIndex(map), codeStart: map.codeStart ?? 0, barriers, ...(offsets && { offsets: new MeterOffsets(new Uint8Array(offsets)) }) };
      } catch {
        maps = null;
      }
    }
    wasmMaps.set(module, maps);
  }
  return maps ?? undefined;
}

const WASM_FRAME = /^\s*at (?:(.+?) \()?wasm:\/\/wasm\/[^:]*:wasm-function\[(\d+)\]:0x([0-9a-f]+)\)?$/;

/** A trap's stack (V8's `error.stack`) in a wasm guest's source; undefined when nothing maps. */
export function wasmStack(thrown: unknown, module: WebAssembly.Module, source: GuestSource): GuestStack | undefined {
  const stack = thrown instanceof Error ? thrown.stack : undefined;
  if (!stack) return undefined;
  const maps = mapsOf(module);
  // A module without the meter's table is unmetered (a benchmark's baseline): offsets are the map's own.
  if (!maps) return undefined;
  return build(stack, WASM_FRAME, source.file, (m) => {
    const offset = parseInt(m[3]!, 16);
    const rel = maps.offsets ? maps.offsets.original(offset) : offset - maps.codeStart;
    if (rel === undefined) return undefined;
    const col = rel + maps.codeStart;
    const pos = maps.index.lookup(0, col);
    if (!pos) return undefined;
    const name = wasmName(m[1], m[2]!);
    // Library code inlined into a guest function (asc -O3 inlines Array#[] and its bounds check):
    // the guest's line is the last one of its own that falls through to it. When asc moved that
    // code out of line (a shared tail at the function's end), no line is known: none is named.
    if (pos.source !== GUEST_SOURCE && m[1]?.startsWith(GUEST_PREFIX)) {
      const fn = maps.index.map.functions?.[Number(m[2]) - (maps.index.map.firstFunction ?? 0)];
      const from = fn === undefined ? undefined : Math.max(fn, lastBefore(maps.barriers, rel) + 1);
      const caller = from === undefined ? undefined : maps.index.lookupBefore(0, col, from + maps.codeStart, GUEST_SOURCE);
      if (caller) return { pos, name: "<inlined>", caller: { pos: caller, name } };
    }
    return { pos, name };
  });
}

/** The last value in sorted `xs` below `x`, or -1. */
function lastBefore(xs: Uint32Array, x: number): number {
  let lo = 0, hi = xs.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! < x) {
      found = xs[mid]!;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** What asc calls the guest's functions: "service/handle". */
const GUEST_PREFIX = AS_GUEST_PATH.replace(/\.ts$/, "/");

/** asc names functions by module path ("service/handle", "~lib/array/Array<i32>#__get"): the path goes. */
function wasmName(name: string | undefined, index: string): string {
  if (!name) return `wasm-function[${index}]`;
  const generic = name.indexOf("<");
  const slash = name.lastIndexOf("/", generic < 0 ? name.length : generic);
  return name.slice(slash + 1) || name;
}

// ---- QuickJS (TypeScript, JavaScript): frames in the bundle, whose map the artifact carries ----

const jsMaps = new Map<string, SourceMapIndex | null>();
/** Distinct bundle maps kept decoded on one worker. */
const MAX_JS_MAPS = 64;

function jsIndex(text: string): SourceMapIndex | undefined {
  let index = jsMaps.get(text);
  if (index === undefined) {
    const map = parseStoredSourceMap(text);
    try {
      index = map ? new SourceMapIndex(map) : null;
    } catch {
      index = null; // a map that cannot be decoded leaves the failure without a stack
    }
    if (jsMaps.size >= MAX_JS_MAPS) jsMaps.delete(jsMaps.keys().next().value!);
    jsMaps.set(text, index);
  }
  return index ?? undefined;
}

// "    at inner (componentize-qjs:user.js:63:10)"; QuickJS's own frames say "(native)".
const JS_FRAME = /^\s*at (?:(.+?) \()?([^()]*?):(\d+):(\d+)\)?$/;

/**
 * Splits what a QuickJS guest's handle threw (the entry puts the stack after JS_STACK_MARKER) into
 * its message and its stack mapped to the guest's source.
 */
export function jsFailure(payload: string, source: GuestSource | undefined): { message: string; stack?: GuestStack } {
  const cut = payload.indexOf(JS_STACK_MARKER);
  if (cut < 0) return { message: payload };
  const message = payload.slice(0, cut);
  const index = source?.sourceMap ? jsIndex(source.sourceMap) : undefined;
  if (!source || !index) return { message };
  const stack = build(payload.slice(cut + JS_STACK_MARKER.length), JS_FRAME, source.file, (m) => {
    const pos = index.lookup(Number(m[3]) - 1, Math.max(0, Number(m[4]) - 1));
    return pos && { pos, name: m[1] && m[1] !== "<anonymous>" ? m[1] : "<anonymous>" };
  });
  return stack ? { message, stack } : { message };
}

// ---- shared ----

interface Hit {
  pos: SourcePosition;
  name: string;
  /** The frame was inlined: where it was called from, in the same engine frame. */
  caller?: Hit;
}

function build(stack: string, frame: RegExp, file: string, map: (m: RegExpExecArray) => Hit | undefined): GuestStack | undefined {
  const frames: GuestFrame[] = [];
  let at: GuestFrame | undefined;
  for (const line of stack.split("\n")) {
    if (frames.length >= MAX_FRAMES) break;
    const m = frame.exec(line);
    if (!m) continue;
    for (let hit = map(m); hit && frames.length < MAX_FRAMES; hit = hit.caller) {
      // Solo's generated entry is plumbing, not the guest's code.
      if (hit.pos.source === ENTRY_SOURCE) continue;
      const guest = hit.pos.source === GUEST_SOURCE;
      const f: GuestFrame = { file: guest ? file : shown(hit.pos.source), line: hit.pos.line, column: hit.pos.column, function: shown(hit.name) };
      frames.push(f);
      if (guest) at ??= f;
    }
  }
  if (frames.length === 0) return undefined;
  return at ? { frames, at } : { frames };
}

/** The longest source or function name shown in a frame. */
const MAX_NAME = 200;

/**
 * A name from a map's sources or a module's name section, as shown: an uploaded module writes
 * both, so control characters (a line break, a terminal escape) become U+FFFD and it is clipped:
 * a frame stays one line that cannot pass for another frame or repaint an agent's terminal.
 */
function shown(name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, "\ufffd");
  return clean.length > MAX_NAME ? `${clean.slice(0, MAX_NAME)}...` : clean;
}

/**
 * AssemblyScript's abort names the place it was called from with asc's name for the guest's file
 * ("boom at service.ts:9:18"); when the message already starts with the guest's own line, that
 * tail only repeats it under the wrong name.
 */
export function withoutAbortPlace(log: string): string {
  const tail = ` at ${AS_GUEST_PATH}:`;
  const i = log.lastIndexOf(tail);
  return i >= 0 && /^\d+:\d+$/.test(log.slice(i + tail.length)) ? log.slice(0, i) : log;
}
