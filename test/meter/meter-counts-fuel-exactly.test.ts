import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { DEFAULT_METER_SETTINGS, FUEL_GLOBAL, meter } from "../../host/wasm/index.ts";
import { wat } from "./wat.ts";

// Straight-line code, a counted loop, a call, and a loop that never ends.
const MODULE = wat(`(module
  (memory (export "memory") 1)
  (func $add (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $i))
  (func (export "twice") (param i32) (result i32)
    (call $add (local.get 0) (local.get 0)))
  (func (export "forever") (loop $l (br $l)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
)`);

function instance(fuel = 1_000_000n) {
  const { bytes, report } = meter(MODULE);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const ex = inst.exports as Record<string, any>;
  ex[FUEL_GLOBAL].value = fuel;
  const used = (f: () => unknown) => {
    const before = ex[FUEL_GLOBAL].value as bigint;
    const result = f();
    return { result, fuel: Number(before - (ex[FUEL_GLOBAL].value as bigint)) };
  };
  return { ex, used, report };
}

test("straight-line code costs one unit per instruction, its end included", () => {
  const { ex, used } = instance();
  const r = used(() => ex.add(2, 3));
  assert.is(r.result, 5);
  assert.is(r.fuel, 4, "local.get, local.get, i32.add, end");
});

test("a loop costs the same fixed amount per iteration: fuel(n) is exactly linear", () => {
  const { ex, used } = instance();
  const f = (n: number) => used(() => ex.count(n));
  const [a, b, c] = [f(10), f(20), f(30)];
  assert.is(a.result, 10);
  assert.is(b.fuel - a.fuel, c.fuel - b.fuel);
  assert.ok(b.fuel - a.fuel > 0);
  const perIteration = (b.fuel - a.fuel) / 10;
  assert.is(perIteration, Math.round(perIteration));
});

test("a call charges the callee and the caller", () => {
  const { ex, used } = instance();
  const r = used(() => ex.twice(21));
  assert.is(r.result, 42);
  assert.ok(r.fuel > 4, `twice costs more than add alone (${r.fuel})`);
  assert.is(used(() => ex.twice(21)).fuel, r.fuel, "the same call costs the same every time");
});

test("an endless loop traps once fuel runs out, and overruns by at most one segment", () => {
  const { ex } = instance(10_000n);
  assert.throws(() => ex.forever(), (e: unknown) => e instanceof WebAssembly.RuntimeError);
  const left = ex[FUEL_GLOBAL].value as bigint;
  assert.ok(left < 0n, "the counter went below zero");
  assert.ok(left > -10n, `overrun ${-left} is within one loop body`);
});

test("memory.grow past solo_memory_budget returns -1 and raises the flag; within it, grows", () => {
  const { ex } = instance();
  ex.solo_memory_budget.value = 2; // 1 page now, 2 more allowed
  assert.is(ex.grow(1), 1, "1 -> 2 pages");
  assert.is(ex.solo_grow_failed.value, 0);
  assert.is(ex.grow(5), -1, "2 + 5 > 3 pages is refused");
  assert.is(ex.solo_grow_failed.value, 1);
  assert.is(ex.memory.buffer.byteLength, 2 * 65536);
});

test("metering reports what it instrumented and keeps every export", () => {
  const { report } = instance();
  assert.is(report.functions, 5);
  assert.is(report.loops, 2);
  assert.is(report.growSites, 1);
  const names = WebAssembly.Module.exports(new WebAssembly.Module(meter(MODULE).bytes)).map((e) => e.name);
  for (const n of ["memory", "add", "count", "twice", "forever", "grow", "solo_fuel", "solo_memory_budget", "solo_grow_failed", "solo_instantiate_fuel"]) assert.ok(names.includes(n), n);
});

test("a module that is not wasm is refused with VALIDATION_FAILED", () => {
  assert.throws(() => meter(new Uint8Array([1, 2, 3])), (e: any) => e.code === "VALIDATION_FAILED");
});


test("shared counters: modules importing one fuel global charge it together, same counts", () => {
  // A module with globals of its own, used in code, a data offset and an export.
  const own = wat(`(module
    (import "env" "base" (global $base i32))
    (global $acc (mut i32) (i32.const 0))
    (global (export "answer") i32 (i32.const 42))
    (memory (export "memory") 1)
    (data (global.get $base) "hi")
    (func (export "bump") (param $n i32) (result i32) (local $i i32)
      (block $out (loop $top
        (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
        (global.set $acc (i32.add (global.get $acc) (i32.load8_u (global.get $base))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
      (global.get $acc))
  )`);
  const base = new WebAssembly.Global({ value: "i32", mutable: false }, 8);
  const fuel = new WebAssembly.Global({ value: "i64", mutable: true }, 1_000_000n);
  const counters = { fuel, memory_budget: new WebAssembly.Global({ value: "i32", mutable: true }, 10), grow_failed: new WebAssembly.Global({ value: "i32", mutable: true }, 0) };
  const sharedBytes = meter(own, { ...DEFAULT_METER_SETTINGS, maxMemoryPages: 16, sharedCounters: true }).bytes;
  const a = new WebAssembly.Instance(new WebAssembly.Module(sharedBytes), { env: { base }, "solo:meter": counters }).exports as any;
  const b = new WebAssembly.Instance(new WebAssembly.Module(sharedBytes), { env: { base }, "solo:meter": counters }).exports as any;
  assert.is(a.answer.value, 42, "exported globals keep their meaning");
  assert.is(a.bump(3), 3 * 104, "data was placed at the imported offset and globals still work");
  const afterA = fuel.value as bigint;
  assert.is(b.bump(3), 3 * 104);
  const afterB = fuel.value as bigint;
  assert.ok(afterA < 1_000_000n && afterB < afterA, "both instances charged the one counter");
  assert.is(1_000_000n - afterA, afterA - afterB, "the same work costs the same on either instance");
  // The same module metered with its own counters charges the same amount.
  const solo = new WebAssembly.Instance(new WebAssembly.Module(meter(own).bytes), { env: { base } }).exports as any;
  solo.solo_fuel.value = 1_000_000n;
  solo.bump(3);
  assert.is(1_000_000n - (solo.solo_fuel.value as bigint), 1_000_000n - afterA);
});

test.run();
