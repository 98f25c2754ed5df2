// Reads the outer structure of a WebAssembly component: its core modules, its imports and how
// deeply components nest. Enough to inspect a component and find the module Solo runs; it does
// not instantiate anything. O(size).
import { createHash } from "node:crypto";
import { Reader, concat, encodeU32, sections, isComponent } from "./binary.ts";
import { SOURCE_MAP_SECTION } from "./source-map.ts";

export interface ComponentInfo {
  /** Core modules embedded at the top level, in order. */
  coreModules: Uint8Array[];
  /** Names of the component's top-level imports ("solo:agent/kv@0.1.0", "wasi:cli/stdin@0.2.0" ...). */
  imports: string[];
  /** Names of the component's top-level exports. */
  exports: string[];
  /** Deepest nesting of components inside this one (0: none). */
  nestingDepth: number;
  /** String encoding of the first lifted export (how the guest's memory holds strings). */
  stringEncoding?: "utf8" | "utf16" | "latin1+utf16";
}

const SECTION = { coreModule: 1, component: 4, canon: 8, import: 10, export: 11 } as const;
const ENCODINGS = ["utf8", "utf16", "latin1+utf16"] as const;

export function readComponent(bytes: Uint8Array): ComponentInfo {
  if (!isComponent(bytes)) throw new Error("not a WebAssembly component (bad preamble)");
  const info: ComponentInfo = { coreModules: [], imports: [], exports: [], nestingDepth: 0 };
  for (const s of sections(bytes)) {
    const body = bytes.subarray(s.start, s.end);
    if (s.id === SECTION.coreModule) info.coreModules.push(body);
    else if (s.id === SECTION.component) info.nestingDepth = Math.max(info.nestingDepth, 1 + readComponent(body).nestingDepth);
    else if (s.id === SECTION.import) {
      const r = new Reader(body);
      for (let n = r.u32(), i = 0; i < n; i++) {
        info.imports.push(externName(r));
        skipExternDesc(r);
      }
    } else if (s.id === SECTION.canon && !info.stringEncoding) {
      const r = new Reader(body);
      for (let n = r.u32(), i = 0; i < n; i++) {
        const op = r.byte();
        if (op !== 0x00) break; // only `canon lift` is read; it comes first for our exports
        r.byte();
        r.u32();
        for (let k = r.u32(), j = 0; j < k; j++) {
          const opt = r.byte();
          if (opt <= 0x02) info.stringEncoding ??= ENCODINGS[opt];
          else if (opt === 0x03 || opt === 0x04 || opt === 0x05 || opt === 0x07) r.u32();
        }
        r.u32();
        info.stringEncoding ??= "utf8";
        break;
      }
    } else if (s.id === SECTION.export) {
      const r = new Reader(body);
      for (let n = r.u32(), i = 0; i < n; i++) {
        info.exports.push(externName(r));
        r.byte(); // sort
        if (r.bytes[r.pos - 1] === 0x00) r.byte(); // core sort
        r.u32(); // index
        if (r.byte() === 0x01) skipExternDesc(r); // optional ascribed type
      }
    }
  }
  return info;
}

// importname' / exportname': 0x00 name, or 0x01 name versionsuffix (older encoders).
function externName(r: Reader): string {
  const tag = r.byte();
  const name = r.name();
  if (tag === 0x01) r.name();
  return name;
}

function skipExternDesc(r: Reader) {
  const kind = r.byte();
  if (kind === 0x00) { r.byte(); r.u32(); }
  else if (kind === 0x03) { if (r.byte() === 0x00) r.u32(); }
  else if (kind === 0x02) { if (r.byte() === 0x00) r.u32(); else r.s33(); }
  else r.u32();
}

/** Every core module of a component, nested ones included, in binary (pre-)order. */
export function walkCoreModules(bytes: Uint8Array, out: Uint8Array[] = []): Uint8Array[] {
  for (const s of sections(bytes)) {
    if (s.id === SECTION.coreModule) out.push(bytes.subarray(s.start, s.end));
    else if (s.id === SECTION.component) walkCoreModules(bytes.subarray(s.start, s.end), out);
  }
  return out;
}

/**
 * A hash of a component's shape: every section, nested components included, except the data,
 * global and custom sections of its core modules, and its own source map section. Two QuickJS
 * guests differ only there (their snapshot heaps, their bundles' maps), so they share a shape, and
 * jco generates the same glue for both.
 */
export function shapeKey(bytes: Uint8Array): string {
  const h = createHash("sha256");
  const visit = (b: Uint8Array) => {
    for (const s of sections(b)) {
      if (s.id === 0 && new Reader(b, s.start, s.end).name() === SOURCE_MAP_SECTION) continue; // each guest's own, like its snapshot
      h.update(`<${s.id}:`);
      if (s.id === SECTION.coreModule) {
        const m = b.subarray(s.start, s.end);
        for (const ms of sections(m)) {
          h.update(`(${ms.id})`);
          if (ms.id !== 0 && ms.id !== 6 && ms.id !== 11) h.update(m.subarray(ms.start, ms.end));
        }
      } else if (s.id === SECTION.component) visit(b.subarray(s.start, s.end));
      else h.update(b.subarray(s.start, s.end));
      h.update(">");
    }
  };
  visit(bytes);
  return h.digest("hex");
}

/**
 * The component with some of its core modules replaced (by index in walkCoreModules order, nested
 * components included), every other byte as it was.
 */
export function replaceCoreModules(bytes: Uint8Array, replaced: ReadonlyMap<number, Uint8Array>): Uint8Array<ArrayBuffer> {
  let index = 0;
  const rewrite = (b: Uint8Array): Uint8Array => {
    const chunks: ArrayLike<number>[] = [b.subarray(0, 8)];
    for (const s of sections(b)) {
      let body: Uint8Array | undefined;
      if (s.id === SECTION.coreModule) body = replaced.get(index++);
      else if (s.id === SECTION.component) body = rewrite(b.subarray(s.start, s.end));
      if (body) chunks.push([s.id, ...encodeU32(body.length)], body);
      else chunks.push(b.subarray(s.headerStart, s.end));
    }
    return concat(chunks);
  };
  const out = rewrite(bytes) as Uint8Array<ArrayBuffer>;
  if (index <= Math.max(-1, ...replaced.keys())) throw new Error(`replaceCoreModules: the component has ${index} core modules`);
  return out;
}
