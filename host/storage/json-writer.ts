// A value written as JSON straight into a buffer, as UTF-8: byte for byte what
// Buffer.from(JSON.stringify(value)) holds, without making that string. An event body made by
// JSON.stringify is a tree of string pieces that writing it flattens into one more copy: ~1.4 KB
// of short-lived heap per ~330-byte event, most of what an append allocated on the API thread.
// Here a body costs nothing on the heap but the digits of numbers that are not small integers and
// the strings that need escapes.
//
// Plain data only: objects whose prototype is Object.prototype or null, arrays, strings, numbers,
// booleans, null, and the undefined, functions and symbols JSON.stringify leaves out (or writes as
// null in an array). Anything else (a toJSON method, on a function too, a Date, a class instance,
// a boxed primitive, a JSON.rawJSON value, a bigint, nesting past MAX_DEPTH, so also a cycle)
// answers NOT_PLAIN, and the caller uses JSON.stringify: its output, or its error, is the answer
// there. Keys are read once, as JSON.stringify reads them (Object.keys before any value), so a
// getter that adds or hides keys changes neither; a getter may run more than once if the caller
// writes the value again (NO_ROOM).

/** The value is not plain data: use JSON.stringify. */
export const NOT_PLAIN = -1;
/** The value did not fit between `at` and `end`. */
export const NO_ROOM = -2;
const MAX_DEPTH = 64;
/** Strings up to this length are tried as printable ASCII first, copied unit by unit. */
const SHORT = 256;

/** A string JSON.stringify would change: quotes, backslashes, control characters, any surrogate. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const OBJECT = Object.prototype;
const ARRAY = Array.prototype;
/** JSON.rawJSON's values (Node 22+) are null-prototype objects JSON.stringify writes raw. */
const isRawJSON = (JSON as { isRawJSON?: (v: unknown) => boolean }).isRawJSON;
/** Buffer's own UTF-8 writer (Buffer#write without its argument checks: at and end are ours). */
type Utf8Writer = { utf8Write(s: string, offset: number, length: number): number };

/**
 * Writes `value` as JSON into `buf` from `at`, never past `end`. Answers where it ended, or
 * NOT_PLAIN / NO_ROOM (what was written past `at` is then garbage, and the caller ignores it).
 */
export function writeJson(value: unknown, buf: Buffer, at: number, end: number): number {
  return write(value, buf, at, end, 0);
}

function write(v: unknown, buf: Buffer, at: number, end: number, depth: number): number {
  switch (typeof v) {
    case "string":
      return writeString(v, buf, at, end);
    case "number":
      return writeNumber(v, buf, at, end);
    case "boolean":
      return writeAscii(v ? "true" : "false", buf, at, end);
    case "object":
      if (v === null) return writeAscii("null", buf, at, end);
      if (depth >= MAX_DEPTH) return NOT_PLAIN;
      return Array.isArray(v) ? writeArray(v, buf, at, end, depth) : writeObject(v as Record<string, unknown>, buf, at, end, depth);
    default:
      return NOT_PLAIN; // bigint; undefined, functions and symbols are handled by their container
  }
}

function writeObject(o: Record<string, unknown>, buf: Buffer, at: number, end: number, depth: number): number {
  const proto = Object.getPrototypeOf(o);
  if ((proto !== OBJECT && proto !== null) || typeof o.toJSON === "function" || (proto === null && isRawJSON?.(o))) return NOT_PLAIN;
  if (at >= end) return NO_ROOM;
  buf[at++] = 0x7b; // {
  let first = true;
  const keys = Object.keys(o);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = o[k];
    const t = typeof v;
    if (t === "function" && typeof (v as { toJSON?: unknown }).toJSON === "function") return NOT_PLAIN;
    if (t === "undefined" || t === "function" || t === "symbol") continue;
    if (!first) {
      if (at >= end) return NO_ROOM;
      buf[at++] = 0x2c; // ,
    }
    first = false;
    at = writeString(k, buf, at, end);
    if (at < 0) return at;
    if (at >= end) return NO_ROOM;
    buf[at++] = 0x3a; // :
    at = write(v, buf, at, end, depth + 1);
    if (at < 0) return at;
  }
  if (at >= end) return NO_ROOM;
  buf[at++] = 0x7d; // }
  return at;
}

function writeArray(a: unknown[], buf: Buffer, at: number, end: number, depth: number): number {
  if (Object.getPrototypeOf(a) !== ARRAY || typeof (a as unknown as { toJSON?: unknown }).toJSON === "function") return NOT_PLAIN;
  if (at >= end) return NO_ROOM;
  buf[at++] = 0x5b; // [
  for (let i = 0; i < a.length; i++) {
    if (i > 0) {
      if (at >= end) return NO_ROOM;
      buf[at++] = 0x2c;
    }
    const v = a[i];
    const t = typeof v;
    if (t === "function" && typeof (v as { toJSON?: unknown }).toJSON === "function") return NOT_PLAIN;
    at = t === "undefined" || t === "function" || t === "symbol" ? writeAscii("null", buf, at, end) : write(v, buf, at, end, depth + 1);
    if (at < 0) return at;
  }
  if (at >= end) return NO_ROOM;
  buf[at++] = 0x5d; // ]
  return at;
}

function writeString(s: string, buf: Buffer, at: number, end: number): number {
  const n = s.length;
  // Short printable ASCII (names, ids, keys: nearly every string of an event) is copied here: a
  // call into Node's UTF-8 writer costs more than the loop.
  if (n <= SHORT) {
    if (at + n + 2 > end) return NO_ROOM;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) break;
      buf[at + 1 + i] = c;
    }
    if (i === n) {
      buf[at] = 0x22; // "
      buf[at + 1 + n] = 0x22;
      return at + n + 2;
    }
  }
  if (NEEDS_ESCAPE.test(s)) return writeAscii(JSON.stringify(s), buf, at, end, 3);
  // A UTF-16 unit is at most 3 UTF-8 bytes; past that bound, the exact length decides.
  if (at + 3 * n + 2 > end && at + Buffer.byteLength(s, "utf8") + 2 > end) return NO_ROOM;
  buf[at++] = 0x22;
  at += (buf as unknown as Utf8Writer).utf8Write(s, at, end - at);
  buf[at++] = 0x22;
  return at;
}

function writeNumber(n: number, buf: Buffer, at: number, end: number): number {
  if (!Number.isFinite(n)) return writeAscii("null", buf, at, end);
  // Small integers digit by digit (no string); others as JSON.stringify writes them (String(n)).
  if (!Number.isInteger(n) || n > 0x7fffffff || n < -0x7fffffff) return writeAscii(String(n), buf, at, end);
  let digits = 1;
  for (let m = n < 0 ? -n : n; m >= 10; m = Math.floor(m / 10)) digits++;
  if (at + digits + (n < 0 ? 1 : 0) > end) return NO_ROOM;
  if (n < 0) {
    buf[at++] = 0x2d; // -
    n = -n;
  }
  for (let i = at + digits - 1; i >= at; i--) {
    buf[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + digits;
}

/** A string already in its JSON form; `perUnit`: the most bytes one of its UTF-16 units can take. */
function writeAscii(s: string, buf: Buffer, at: number, end: number, perUnit = 1): number {
  if (at + perUnit * s.length > end && (perUnit === 1 || at + Buffer.byteLength(s, "utf8") > end)) return NO_ROOM;
  return at + (buf as unknown as Utf8Writer).utf8Write(s, at, end - at);
}
