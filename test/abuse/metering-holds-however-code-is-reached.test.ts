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

test("a leaf's trap path cannot hand a looping function a stale, full counter", async () => {
  // $L is loop-free (a leaf) and ends in a trap path that calls $A, which loops and recurses into
  // $L. Were $A to start from the global its caller never wrote back, every level would get the
  // whole budget again: ~70M iterations on 1M fuel.
  const m = await metered(`(module
    (global $n (export "n") (mut i32) (i32.const 0))
    (func $L (param i32) (call $A (local.get 0)) unreachable)
    (func $A (export "a") (param $d i32) (local $i i32)
      (loop $l
        (global.set $n (i32.add (global.get $n) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 70000))))
      (if (local.get $d) (then (call $L (i32.sub (local.get $d) (i32.const 1)))))))`);
  const ex = new WebAssembly.Instance(m, {}).exports as Record<string, any>;
  ex.solo_fuel.value = 1_000_000n;
  assert.throws(() => ex.a(1000));
  assert.ok((ex.solo_fuel.value as bigint) < 0n, "it stopped for fuel");
  // Each iteration costs at least 8 units: 1M fuel buys at most ~125k of them.
  assert.ok(ex.n.value <= 1_000_000 / 8, `${ex.n.value} iterations on 1M fuel`);
});

test("zeroing a function's locals and table bulk operations are charged", async () => {
  const m = await metered(`(module
    (table $t 1000 funcref)
    (func $many (local ${"i64 ".repeat(8000)}) nop)
    (func (export "locals") (call $many))
    (func (export "copy") (param i32) (table.copy $t $t (i32.const 0) (i32.const 0) (local.get 0))))`);
  const ex = new WebAssembly.Instance(m, {}).exports as Record<string, any>;
  const cost = (f: () => void) => {
    ex.solo_fuel.value = 1_000_000n;
    f();
    return Number(1_000_000n - (ex.solo_fuel.value as bigint));
  };
  assert.ok(cost(() => ex.locals()) >= 8000 / 8, "8,000 locals zeroed cost at least 1,000 units");
  assert.is(cost(() => ex.copy(256)) - cost(() => ex.copy(0)), 256, "every table entry is charged, even in short copies");
});

test("the meter itself refuses several memories and 64-bit memories, whatever the engine accepts", async () => {
  for (const text of [`(module (memory 1) (memory 1))`, `(module (memory i64 1))`]) {
    const bytes = await wasm(text);
    try {
      meter(bytes);
      assert.unreachable("metered");
    } catch (err) {
      // Node 20's V8 refuses both while validating; Node 24's accepts them and the meter refuses.
      const e = err as Error;
      assert.match(e.message, WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>) ? /which Solo does not run/ : /does not validate/);
    }
  }
});

test.run();
