// The storage writes an event's body without making its JSON string (host/storage/json-writer.ts).
// The body is what the chain hashes and readers parse, so it must be JSON.stringify's bytes
// exactly, for any plain data; anything else must be handed back to JSON.stringify.
import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { NOT_PLAIN, NO_ROOM, writeJson } from "../../host/storage/json-writer.ts";

/** A small seeded generator (mulberry32), so a failure names a seed that repeats it. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UNITS = [0x41, 0x7a, 0x20, 0x22, 0x5c, 0x00, 0x08, 0x09, 0x0a, 0x1f, 0x7f, 0xe9, 0x2028, 0x65e5, 0xd83d, 0xde00, 0xdbff, 0xdc00, 0xfffd, 0x2f];
const NUMBERS = [0, -0, 1, -1, 9, 10, 42, -123456, 0x7fffffff, -0x7fffffff, 0x80000000, -0x80000000, 2 ** 53, 1e21, 1e-7, 5e-324, 0.1, -2.5, 123.456, NaN, Infinity, -Infinity];

function value(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 5 : 9));
  switch (pick) {
    case 0: {
      let s = "";
      // Mostly short (names, ids); some past the writer's 256-unit copy loop.
      const n = r() < 0.9 ? Math.floor(r() * 12) : 200 + Math.floor(r() * 400);
      for (let i = 0; i < n; i++) s += r() < 0.6 ? "abcXYZ019-_ ".charAt(Math.floor(r() * 12)) : String.fromCharCode(UNITS[Math.floor(r() * UNITS.length)]!);
      return s;
    }
    case 1: return NUMBERS[Math.floor(r() * NUMBERS.length)]!;
    case 2: return r() < 0.5 ? Math.floor((r() - 0.5) * 1e6) : (r() - 0.5) * 1e6;
    case 3: return r() < 0.5;
    case 4: return null;
    case 5: case 6: {
      const o: Record<string, unknown> = r() < 0.2 ? Object.create(null) : {};
      const n = Math.floor(r() * 5);
      for (let i = 0; i < n; i++) {
        const key = r() < 0.3 ? String(Math.floor(r() * 20)) : (value(r, 99) as string | null) ?? "k";
        o[typeof key === "string" ? key : String(key)] = r() < 0.15 ? [undefined, () => 1, Symbol("s")][Math.floor(r() * 3)] : value(r, depth + 1);
      }
      return o;
    }
    default: {
      const a: unknown[] = [];
      const n = Math.floor(r() * 5);
      for (let i = 0; i < n; i++) a.push(r() < 0.15 ? [undefined, () => 1, Symbol("s")][Math.floor(r() * 3)] : value(r, depth + 1));
      if (r() < 0.1) a.length += 2; // holes
      return a;
    }
  }
}

test("plain data of every kind is written as exactly JSON.stringify's UTF-8 bytes (5,000 seeded values)", () => {
  const buf = Buffer.alloc(1 << 16);
  for (let seed = 1; seed <= 5000; seed++) {
    const v = { id: "01KBX", data: value(rng(seed), 0) };
    const expected = Buffer.from(JSON.stringify(v));
    const end = writeJson(v, buf, 3, buf.length);
    assert.ok(end >= 0, `seed ${seed}: written (${end})`);
    if (!buf.subarray(3, end).equals(expected)) {
      assert.fixture(buf.subarray(3, end).toString(), expected.toString(), `seed ${seed}`);
    }
  }
});

test("what is not plain data is handed back to JSON.stringify: toJSON, dates, class instances, boxed values, bigints, cycles, deep nesting", () => {
  const buf = Buffer.alloc(4096);
  class Point { x = 1; }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  let deep: unknown = 1;
  for (let i = 0; i < 100; i++) deep = [deep];
  const cases: [string, unknown][] = [
    ["a Date", { when: new Date(0) }],
    ["an own toJSON", { data: { toJSON: () => "x" } }],
    ["a class instance", { p: new Point() }],
    ["a boxed string", { s: new String("x") }],
    ["a Map", { m: new Map() }],
    ["a bigint", { n: 1n }],
    ["an array subclass", { a: new (class extends Array {})() }],
    ["a typed array", { t: new Uint8Array(2) }],
    ["a cycle", cyclic],
    ["100 levels of arrays", { deep }],
    ["a function with toJSON", { f: Object.assign(() => 1, { toJSON: () => "f" }) }],
    ["a function with toJSON in an array", [Object.assign(() => 1, { toJSON: () => "f" })]],
  ];
  const raw = (JSON as { rawJSON?: (s: string) => unknown }).rawJSON;
  if (raw) cases.push(["a JSON.rawJSON value", { n: raw("12345678901234567890") }]);
  for (const [label, v] of cases) assert.is(writeJson(v, buf, 0, buf.length), NOT_PLAIN, label);
});

test("a value that does not fit says NO_ROOM and never writes past the end it was given; one that fits exactly is written", () => {
  const values: [string, unknown][] = [
    ["escapes", { id: "01KBX", text: "grüße 😀 \"q\" \\ \n", n: [1, -0, 2.5, 1e21, null, true], o: { "2": "b", "1": "a", k: "v" } }],
    ["text outside ASCII, no escapes", { id: "01KBX", text: "日本語テキスト 😀 grüße", n: 42 }],
    ["long ASCII (past the copy loop)", { id: "01KBX", text: "x".repeat(300) }],
    ["long text outside ASCII", { text: "é".repeat(300) }],
  ];
  for (const [label, v] of values) {
    const expected = Buffer.from(JSON.stringify(v));
    const buf = Buffer.alloc(expected.length + 64);
    for (let end = 0; end <= expected.length + 8; end++) {
      buf.fill(0xaa);
      const got = writeJson(v, buf, 0, end);
      for (let i = end; i < buf.length; i++) if (buf[i] !== 0xaa) assert.unreachable(`${label}, end ${end}: byte ${i} written past the end`);
      if (got === NO_ROOM) {
        assert.ok(end < expected.length, `${label}, end ${end}: refused though ${expected.length} bytes fit`);
        continue;
      }
      assert.ok(got >= 0, `${label}, end ${end}: ${got}`);
      assert.ok(buf.subarray(0, got).equals(expected), `${label}, end ${end}: the whole value`);
    }
  }
});

test("keys are read once, before the values, as JSON.stringify reads them: a getter that adds or hides keys changes neither", () => {
  const adds = { a: 1, get b() { (this as Record<string, unknown>).z = 9; return 2; } };
  const hides = { a: 1, get h() { Object.defineProperty(this, "b", { enumerable: false }); return 0; }, b: 2 };
  const buf = Buffer.alloc(256);
  for (const [label, make] of [["adds", () => ({ ...Object.getOwnPropertyDescriptors(adds) })], ["hides", () => ({ ...Object.getOwnPropertyDescriptors(hides) })]] as const) {
    const expected = JSON.stringify(Object.defineProperties({}, make()));
    const end = writeJson(Object.defineProperties({}, make()), buf, 0, buf.length);
    assert.is(buf.subarray(0, end).toString(), expected, label);
  }
});

test.run();
