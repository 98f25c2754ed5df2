// The counter travels through direct calls as an extra parameter and result; exports, tables and
// imports still see it in the global. These tests pin what a guest and the host can observe of
// that: the same results, the same fuel for the same work whatever the path, the counter up to
// date inside an import, and a trap with the counter below zero when a callee runs out.
import * as assert from "uvu/assert";
import { FUEL_GLOBAL, meter } from "../../host/wasm/index.ts";
import { test } from "../helpers.ts";
import { wat } from "./wat.ts";

const MODULE = wat(`(module
  (import "host" "peek" (func $peek (result i64)))
  (import "host" "burn" (func $burn (param i64)))
  (type $ii (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $viaTable)
  ;; sum of 0..n-1 in a loop: not a leaf, so threaded
  (func $inner (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $out (loop $top
      (br_if $out (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i32.add (local.get $acc) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $top)))
    (local.get $acc))
  ;; in a table: keeps its signature, passes the counter on to $inner
  (func $viaTable (param i32) (result i32) (call $inner (local.get 0)))
  (func $rec (param $n i32) (result i32)
    (if (result i32) (local.get $n)
      (then (i32.add (call $inner (local.get $n)) (call $rec (i32.sub (local.get $n) (i32.const 1)))))
      (else (i32.const 0))))
  (func (export "direct") (param i32) (result i32) (call $viaTable (local.get 0)))
  (func (export "indirect") (param i32) (result i32) (call_indirect (type $ii) (local.get 0) (i32.const 0)))
  (func (export "peekAfter") (param i32) (result i64) (drop (call $inner (local.get 0))) (call $peek))
  (func (export "burnFirst") (param i32) (result i32) (call $burn (i64.const 1000)) (call $viaTable (local.get 0)))
  (func (export "rec") (param i32) (result i32) (call $rec (local.get 0)))
  (func (export "early") (param i32) (result i32)
    (if (local.get 0) (then (return (call $inner (local.get 0)))))
    (i32.const 7))
)`);

function instance(bytes: Uint8Array, fuel = 1_000_000_000n) {
  let ex: Record<string, any> = {};
  const imports = {
    host: {
      peek: () => (ex[FUEL_GLOBAL] ? (ex[FUEL_GLOBAL].value as bigint) : 0n),
      burn: (units: bigint) => { if (ex[FUEL_GLOBAL]) ex[FUEL_GLOBAL].value = (ex[FUEL_GLOBAL].value as bigint) - units; },
    },
  };
  ex = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), imports).exports as Record<string, any>;
  if (ex[FUEL_GLOBAL]) ex[FUEL_GLOBAL].value = fuel;
  const used = (name: string, arg: number) => {
    if (ex[FUEL_GLOBAL]) ex[FUEL_GLOBAL].value = fuel;
    const result = ex[name](arg);
    return { result, fuel: ex[FUEL_GLOBAL] ? Number(fuel - (ex[FUEL_GLOBAL].value as bigint)) : 0 };
  };
  return { ex, used };
}

const metered = meter(MODULE);

test("functions called directly are threaded; exports and table entries keep their signatures", () => {
  assert.ok(metered.report.threadedFunctions >= 3, `threaded ${metered.report.threadedFunctions}`);
  const plain = instance(MODULE);
  const m = instance(metered.bytes);
  for (const [name, arg] of [["direct", 10], ["indirect", 10], ["rec", 5], ["early", 0], ["early", 4], ["burnFirst", 3]] as const) {
    assert.is(m.used(name, arg).result, plain.used(name, arg).result, `${name}(${arg})`);
  }
  assert.is(m.used("direct", 100).result, 4950);
});

test("the same work costs the same through a direct call, a table or a return", () => {
  const { used } = instance(metered.bytes);
  const direct = [10, 20, 30].map((n) => used("direct", n).fuel);
  assert.ok(direct[0]! > 0);
  assert.is(direct[2]! - direct[1]!, direct[1]! - direct[0]!, "fuel is linear in the loop's iterations");
  const viaTable = [10, 20, 30].map((n) => used("indirect", n).fuel);
  assert.equal(viaTable.map((f, i) => f - direct[i]!), [viaTable[0]! - direct[0]!, viaTable[0]! - direct[0]!, viaTable[0]! - direct[0]!], "a table adds a fixed cost, whatever the callee does");
  const early = [10, 20].map((n) => used("early", n).fuel);
  assert.is(early[1]! - early[0]!, direct[1]! - direct[0]!, "a return out of a threaded function keeps the callee's charges");
  const rec = [1, 2, 3].map((n) => used("rec", n).fuel);
  assert.ok(rec[2]! > rec[1]! && rec[1]! > rec[0]!, "recursion charges every level");
});

test("an import sees the counter with every charge made before it, and the guest keeps what the host charges", () => {
  const { used, ex } = instance(metered.bytes, 1_000_000n);
  const seen = (n: number) => {
    ex[FUEL_GLOBAL].value = 1_000_000n;
    return 1_000_000n - (ex.peekAfter(n) as bigint);
  };
  const d = (n: number) => BigInt(used("direct", n).fuel);
  assert.is(seen(100) - seen(10), d(100) - d(10), "the host sees the loop's whole cost when the import runs");
  const burn = (n: number) => used("burnFirst", n).fuel - used("direct", n).fuel;
  assert.ok(burn(10) > 1000, `the host's 1000 units stay charged (${burn(10)})`);
  assert.is(burn(100), burn(10));
});

test("running out inside a threaded callee traps with the counter just below zero", () => {
  const { ex } = instance(metered.bytes);
  ex[FUEL_GLOBAL].value = 5_000n;
  assert.throws(() => ex.direct(10_000_000), (e: unknown) => e instanceof WebAssembly.RuntimeError);
  const left = ex[FUEL_GLOBAL].value as bigint;
  assert.ok(left < 0n && left > -20n, `left ${left}`);
  ex[FUEL_GLOBAL].value = 5_000n;
  assert.throws(() => ex.rec(100_000), (e: unknown) => e instanceof WebAssembly.RuntimeError);
  assert.ok((ex[FUEL_GLOBAL].value as bigint) < 0n, "deep recursion stops for fuel, not for the stack");
});

test("a module with return_call_indirect keeps the counter in the global, and computes the same", () => {
  const tail = wat(`(module
    (type $ii (func (param i32) (result i32)))
    (table 1 funcref)
    (elem (i32.const 0) $down)
    (func $down (param $n i32) (result i32)
      (if (result i32) (local.get $n)
        (then (return_call_indirect (type $ii) (i32.sub (local.get $n) (i32.const 1)) (i32.const 0)))
        (else (i32.const 42))))
    (func $loop (param $n i32) (result i32) (loop $l (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))) (call $down (i32.const 3)))
    (func (export "run") (param i32) (result i32) (call $loop (local.get 0)))
  )`);
  const m = meter(tail);
  assert.is(m.report.threadedFunctions, 0);
  const { used } = instance(m.bytes);
  const a = used("run", 1_000_000);
  assert.is(a.result, 42);
  assert.ok(a.fuel > 1_000_000);
});

test.run();
