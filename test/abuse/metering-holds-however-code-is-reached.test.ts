// The meter's own promises, checked on metered modules directly: a leaf function costs the same
// whether it is reached by call, call_indirect or return_call, and the memories of a component's
// modules draw on one budget (each used to be checked alone against the whole limit).
import * as assert from "uvu/assert";
import { DEFAULT_METER_SETTINGS, meter } from "../../host/wasm/index.ts";
import { Counters } from "../../host/runtime/counters.ts";
import { test } from "../helpers.ts";
import { wasm } from "./hostile.ts";

async function metered(text: string, shared = false) {
  return new WebAssembly.Module(meter(await wasm(text), { ...DEFAULT_METER_SETTINGS, sharedCounters: shared }).bytes);
}

test("a small function costs the same reached by call, call_indirect or return_call", async () => {
  const m = await metered(`(module
    (type $t (func (param i32) (result i32)))
    (table 1 funcref) (elem (i32.const 0) $small)
    (func $small (param i32) (result i32) (i32.mul (i32.add (local.get 0) (i32.const 1)) (i32.const 3)))
    (func $tiny (param i32) (result i32) (i32.add (local.get 0) (i32.const 2)))
    (func (export "direct") (param i32) (result i32) (call $small (local.get 0)))
    (func (export "indirect") (param i32) (result i32) (call_indirect (type $t) (local.get 0) (i32.const 0)))
    (func (export "tail") (param i32) (result i32) (return_call $tiny (local.get 0)))
    (func (export "plain") (param i32) (result i32) (call $tiny (local.get 0))))`);
  const ex = new WebAssembly.Instance(m, {}).exports as Record<string, any>;
  const cost = (name: string) => {
    ex.solo_fuel.value = 1_000_000n;
    const out = ex[name](5);
    return { out, fuel: Number(1_000_000n - (ex.solo_fuel.value as bigint)) };
  };
  const direct = cost("direct");
  const indirect = cost("indirect");
  assert.is(direct.out, 18);
  assert.is(indirect.out, 18);
  // $small is in a table, so it charges itself: reached either way, its 6 instructions are paid
  // for (local.get, i32.const, i32.add, i32.const, i32.mul, end), plus the caller's own.
  assert.is(direct.fuel, 3 + 6, "local.get, call, end + the callee");
  assert.is(indirect.fuel, 4 + 6, "local.get, i32.const, call_indirect, end + the callee");
  const tail = cost("tail");
  const plain = cost("plain");
  assert.is(tail.out, 7);
  // return_call charges the leaf's 4 instructions just as call does.
  assert.is(plain.fuel, 3 + 4);
  assert.is(tail.fuel, plain.fuel);
});

test("the memories of several modules share one budget", async () => {
  // Two modules, each with its own memory, linked to one set of counters (a component's modules).
  const text = `(module (memory (export "memory") 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`;
  const m = await metered(text, true);
  const counters = new Counters();
  const a = new WebAssembly.Instance(m, { "solo:meter": counters.imports() }).exports as Record<string, any>;
  const b = new WebAssembly.Instance(m, { "solo:meter": counters.imports() }).exports as Record<string, any>;
  counters.reset(1_000_000);
  // A 4-page limit over both: 1 + 1 pages now, 2 more for the two together.
  assert.ok(counters.setBudget(4 * 65536, 2 * 65536));
  assert.is(a.grow(1), 1, "a grows to 2 pages");
  assert.is(b.grow(1), 1, "b grows to 2 pages: 4 in all");
  assert.is(b.grow(1), -1, "a fifth page is refused, whichever module asks");
  assert.ok(counters.growFailed);
  assert.is(a.memory.buffer.byteLength + b.memory.buffer.byteLength, 4 * 65536);
});

test("a module's start function is not run by the engine: it waits for the host", async () => {
  const m = await metered(`(module (global $g (export "g") (mut i32) (i32.const 0))
    (func $s (global.set $g (i32.const 1))) (start $s))`);
  const ex = new WebAssembly.Instance(m, {}).exports as Record<string, any>;
  assert.is(ex.g.value, 0, "instantiating ran nothing");
  ex.solo_fuel.value = 100n;
  ex.solo_start();
  assert.is(ex.g.value, 1, "the host runs it, with fuel in place");
  assert.ok((ex.solo_fuel.value as bigint) < 100n, "and it was charged");
});

test.run();
