// Mutations of WebAssembly binaries (core modules and components share the section layout):
// byte flips, inserts, deletes, truncation, section drops / duplications / swaps, LEB rewrites
// (section sizes, vector counts, any LEB in a body), random bytes. Each mutation is plain data
// with positions as free naturals (taken modulo the length), so fast-check can shrink a failing
// case toward the first byte and the fewest mutations. Applying one is O(bytes).
import fc from "fast-check";

export type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "set"; at: number; value: number }
  | { op: "insert"; at: number; bytes: number[] }
  | { op: "delete"; at: number; len: number }
  | { op: "truncate"; at: number }
  | { op: "dropSection"; index: number }
  | { op: "dupSection"; index: number }
  | { op: "swapSections"; a: number; b: number }
  /** Rewrites the LEB at `at` (rounded to the nearest LEB start found there) inside section `index`'s body. */
  | { op: "leb"; index: number; at: number; value: number; pad: number }
  /** Rewrites a section's size LEB. */
  | { op: "sectionSize"; index: number; value: number; pad: number }
  /** Gives export `index` another kind (function, table, memory, global, tag), same index: often still valid. */
  | { op: "exportKind"; index: number; kind: number };

export interface SectionSpan {
  id: number;
  /** Where the id byte is. */
  headerStart: number;
  /** The body. */
  start: number;
  end: number;
}

/** The sections after the 8-byte preamble, as far as they parse (a mutant may stop early). */
export function sectionSpans(bytes: Uint8Array): SectionSpan[] {
  const out: SectionSpan[] = [];
  let pos = 8;
  while (pos < bytes.length) {
    const headerStart = pos;
    const id = bytes[pos++]!;
    const size = readLeb(bytes, pos);
    if (!size) break;
    pos = size.next;
    const end = pos + size.value;
    if (end > bytes.length) break;
    out.push({ id, headerStart, start: pos, end });
    pos = end;
  }
  return out;
}

/** An unsigned LEB128 of at most 5 bytes at `pos`, or undefined. */
export function readLeb(bytes: Uint8Array, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const b = bytes[pos + i];
    if (b === undefined) return undefined;
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return { value, next: pos + i + 1 };
  }
  return undefined;
}

/** Unsigned LEB128 of `value` (taken as a u32... or wider, to attack readers), padded with `pad` extra bytes. */
export function leb(value: number, pad = 0): number[] {
  const out: number[] = [];
  let v = Math.max(0, Math.floor(value));
  do {
    out.push(v & 0x7f);
    v = Math.floor(v / 128);
  } while (v > 0);
  for (let i = 0; i < pad; i++) out.push(0);
  for (let i = 0; i < out.length - 1; i++) out[i]! |= 0x80;
  return out;
}

const splice = (bytes: Uint8Array, from: number, to: number, insert: ArrayLike<number>): Uint8Array => {
  const out = new Uint8Array(bytes.length - (to - from) + insert.length);
  out.set(bytes.subarray(0, from), 0);
  out.set(insert, from);
  out.set(bytes.subarray(to), from + insert.length);
  return out;
};

export function applyMutation(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length;
  switch (m.op) {
    case "flip": {
      if (n === 0) return bytes;
      const out = bytes.slice();
      out[m.at % n]! ^= 1 << (m.bit & 7);
      return out;
    }
    case "set": {
      if (n === 0) return bytes;
      const out = bytes.slice();
      out[m.at % n] = m.value & 0xff;
      return out;
    }
    case "insert": return splice(bytes, m.at % (n + 1), m.at % (n + 1), m.bytes);
    case "delete": {
      const at = m.at % (n + 1);
      return splice(bytes, at, Math.min(n, at + m.len), []);
    }
    case "truncate": return bytes.slice(0, m.at % (n + 1));
    default: break;
  }
  const spans = sectionSpans(bytes);
  if (spans.length === 0) return bytes;
  const pick = (i: number) => spans[i % spans.length]!;
  switch (m.op) {
    case "dropSection": {
      const s = pick(m.index);
      return splice(bytes, s.headerStart, s.end, []);
    }
    case "dupSection": {
      const s = pick(m.index);
      return splice(bytes, s.end, s.end, bytes.subarray(s.headerStart, s.end));
    }
    case "swapSections": {
      let [a, b] = [pick(m.a), pick(m.b)];
      if (a === b) return bytes;
      if (a.headerStart > b.headerStart) [a, b] = [b, a];
      const parts = [bytes.subarray(0, a.headerStart), bytes.subarray(b.headerStart, b.end), bytes.subarray(a.end, b.headerStart), bytes.subarray(a.headerStart, a.end), bytes.subarray(b.end)];
      const out = new Uint8Array(n);
      let at = 0;
      for (const p of parts) { out.set(p, at); at += p.length; }
      return out;
    }
    case "sectionSize": {
      const s = pick(m.index);
      return splice(bytes, s.headerStart + 1, s.start, leb(m.value, m.pad));
    }
    case "exportKind": {
      const s = spans.find((x) => x.id === 7);
      if (!s) return bytes;
      const n = readLeb(bytes, s.start);
      if (!n || n.value === 0) return bytes;
      let at = n.next;
      for (let i = 0; i < m.index % n.value; i++) {
        const len = readLeb(bytes, at);
        if (!len) return bytes;
        const idx = readLeb(bytes, len.next + len.value + 1);
        if (!idx) return bytes;
        at = idx.next;
      }
      const len = readLeb(bytes, at);
      if (!len || len.next + len.value >= s.end) return bytes;
      const out = bytes.slice();
      out[len.next + len.value] = m.kind % 5;
      return out;
    }
    case "leb": {
      const s = pick(m.index);
      if (s.end === s.start) return bytes;
      // Walk back to where a LEB starts (the byte before it has its high bit clear).
      let at = s.start + (m.at % (s.end - s.start));
      while (at > s.start && (bytes[at - 1]! & 0x80) !== 0) at--;
      const old = readLeb(bytes, at);
      if (!old || old.next > s.end) return bytes;
      // The section's own size follows the change, so only this number is wrong.
      const body = splice(bytes.subarray(s.start, s.end), at - s.start, old.next - s.start, leb(m.value, m.pad));
      return splice(bytes, s.headerStart + 1, s.end, [...leb(body.length), ...body]);
    }
  }
}

export function applyMutations(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let out = bytes;
  for (const m of ms) out = applyMutation(out, m);
  return out;
}

/** Numbers a reader should distrust: zero, one, sign and width edges, huge. */
const lebValue = fc.oneof(
  fc.constantFrom(0, 1, 2, 0x3f, 0x40, 0x7f, 0x80, 0x3fff, 0x4000, 0xffff, 65536, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 32, 2 ** 35, 2 ** 40),
  fc.nat({ max: 4096 }),
  fc.nat(),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0x00, 0x0b, 0x0f, 0x40, 0x7f, 0x80, 0xff, 0x03, 0x0c, 0x0e, 0x10, 0x11, 0xfc, 0xfd), fc.nat({ max: 255 })) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 16 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("dropSection" as const), index: fc.nat({ max: 63 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("dupSection" as const), index: fc.nat({ max: 63 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("swapSections" as const), a: fc.nat({ max: 63 }), b: fc.nat({ max: 63 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("leb" as const), index: fc.nat({ max: 63 }), at: fc.nat(), value: lebValue, pad: fc.oneof(fc.constant(0), fc.nat({ max: 5 })) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("sectionSize" as const), index: fc.nat({ max: 63 }), value: lebValue, pad: fc.oneof(fc.constant(0), fc.nat({ max: 5 })) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("exportKind" as const), index: fc.nat({ max: 15 }), kind: fc.nat({ max: 4 }) }) },
);

export const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

/** Random bytes, often behind a real preamble so the readers go past the first check. */
export const randomBinaryArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom<number[]>([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0], [0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0], []),
    fc.uint8Array({ maxLength: 256 }),
  )
  .map(([head, body]) => Uint8Array.from([...head, ...body]));

/** Replaces the top-level core module section whose body is `old` (same offset) with `core`. */
export function spliceCore(component: Uint8Array, oldCoreOffset: number, core: Uint8Array): Uint8Array {
  const s = sectionSpans(component).find((x) => x.id === 1 && x.start === oldCoreOffset);
  if (!s) throw new Error("no core module section at that offset");
  return splice(component, s.headerStart + 1, s.end, [...leb(core.length), ...core]);
}
