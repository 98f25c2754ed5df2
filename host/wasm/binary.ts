// Minimal reading and writing of the WebAssembly binary format: LEB128 numbers, names,
// and the section layout shared by core modules and components. Costs O(bytes), no copies
// beyond what a caller keeps.

export class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, pos = 0, readonly end = bytes.length) {
    this.pos = pos;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  byte(): number {
    if (this.pos >= this.end) throw new RangeError("unexpected end of the binary");
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new RangeError("LEB128 number too long");
    }
  }
  /** Skips a signed LEB128 number of any width. */
  skipLeb(): void {
    while (this.byte() & 0x80);
  }
  /** Reads a signed LEB128 number that fits a double (used for block types). */
  s33(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    if (b & 0x40) result -= 2 ** shift;
    return result;
  }
  skip(n: number): void {
    if (this.pos + n > this.end) throw new RangeError("unexpected end of the binary");
    this.pos += n;
  }
  name(): string {
    const len = this.u32();
    const start = this.pos;
    this.skip(len);
    return new TextDecoder().decode(this.bytes.subarray(start, start + len));
  }
}

export function encodeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

export function encodeS64(value: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(value & 0x7fn);
    value >>= 7n;
    const signBit = (b & 0x40) !== 0;
    if ((value === 0n && !signBit) || (value === -1n && signBit)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export function encodeName(name: string): number[] {
  const bytes = new TextEncoder().encode(name);
  return [...encodeU32(bytes.length), ...bytes];
}

export interface Section {
  id: number;
  /** Offset of the section's id byte. */
  headerStart: number;
  /** Offset of the section's contents (after id and size). */
  start: number;
  end: number;
}

/** Lists the sections after the 8-byte preamble; works for modules and components alike. */
export function sections(bytes: Uint8Array): Section[] {
  const r = new Reader(bytes, 8);
  const out: Section[] = [];
  while (!r.done) {
    const headerStart = r.pos;
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    r.skip(size);
    out.push({ id, headerStart, start, end: start + size });
  }
  return out;
}

/** Concatenates byte chunks into one array. */
export function concat(chunks: ArrayLike<number>[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export const MAGIC = [0x00, 0x61, 0x73, 0x6d];
export const CORE_VERSION = [0x01, 0x00, 0x00, 0x00];

export function isCoreModule(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && MAGIC.every((b, i) => bytes[i] === b) && bytes[4] === 1 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0;
}

export function isComponent(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && MAGIC.every((b, i) => bytes[i] === b) && bytes[6] === 1 && bytes[7] === 0;
}
