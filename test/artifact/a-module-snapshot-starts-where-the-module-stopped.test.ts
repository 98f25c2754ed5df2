// wasm/module-snapshot.ts, on modules written as text: a module run, then snapshotted, gives a
// module whose fresh instance starts in the state the first one stopped in (every kind of
// mutable global, grown memory, bytes written anywhere), its immutable globals and exports as
// they were; what it cannot write back exactly (passive data) is refused.
import * as assert from "uvu/assert";
import { MAX_SNAPSHOT_SEGMENTS, applySnapshot, exposeState, readState, SnapshotUnsupported } from "../../host/wasm/module-snapshot.ts";
import { readModuleInfo } from "../../host/wasm/module-info.ts";
import { wat } from "../meter/wat.ts";
import { test } from "../helpers.ts";

const MODULE = wat(`(module
  (memory 1)
  (global $a (mut i32) (i32.const 7))
  (global $b (mut i64) (i64.const -5))
  (global $c (mut f32) (f32.const 1.5))
  (global $d (mut f64) (f64.const 2.25))
  (global $k i32 (i32.const 42))
  (data (i32.const 16) "seed")
  (func (export "run")
    (global.set $a (i32.const -123456))
    (global.set $b (i64.const 9007199254740993))
    (global.set $c (f32.const -0.75))
    (global.set $d (f64.const 1e300))
    (drop (memory.grow (i32.const 2)))
    (i32.store8 (i32.const 17) (i32.const 88))
    (i64.store (i32.const 70000) (i64.const 0x0102030405060708))
    (i32.store (i32.const 196600) (i32.const -1)))
  (func (export "a") (result i32) (global.get $a))
  (func (export "b") (result i64) (global.get $b))
  (func (export "c") (result f32) (global.get $c))
  (func (export "d") (result f64) (global.get $d))
  (func (export "k") (result i32) (global.get $k))
  (export "memory" (memory 0)))`);

type Ex = { run(): void; a(): number; b(): bigint; c(): number; d(): number; k(): number; memory: WebAssembly.Memory };
const instance = (bytes: Uint8Array) => new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>)).exports as unknown as Ex;

test("a snapshot starts with the globals, memory size and bytes its module stopped with", () => {
  const { bytes, shape } = exposeState(MODULE);
  assert.equal(shape.globals.map((g) => g.index), [0, 1, 2, 3], "every mutable global, not the immutable one");
  assert.ok(shape.memory);
  const ran = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
  (ran.run as () => void)();
  const snap = instance(applySnapshot(MODULE, readState(shape, ran)));
  assert.is(snap.a(), -123456);
  assert.is(snap.b(), 9007199254740993n);
  assert.is(snap.c(), -0.75);
  assert.is(snap.d(), 1e300);
  assert.is(snap.k(), 42);
  assert.is(snap.memory.buffer.byteLength, 3 * 65536);
  const before = new Uint8Array((ran.memory as WebAssembly.Memory).buffer);
  const after = new Uint8Array(snap.memory.buffer);
  assert.ok(Buffer.from(after).equals(Buffer.from(before)), "every byte of memory as the run left it");
  assert.is(new TextDecoder().decode(after.subarray(16, 20)), "sXed");

  // The original module is untouched: a fresh instance of it starts where it always did.
  const fresh = instance(MODULE);
  assert.is(fresh.a(), 7);
  assert.is(fresh.memory.buffer.byteLength, 65536);
});

test("a memory with a maximum keeps it; bytes scattered past the segment cap all come back in at most MAX_SNAPSHOT_SEGMENTS segments", () => {
  const scattered = wat(`(module (memory 1 20) (global $n (mut i32) (i32.const 0))
    (func (export "run") (local $i i32)
      (drop (memory.grow (i32.const 15)))
      (loop $l
        (i32.store8 (local.get $i) (i32.const 9))
        (local.set $i (i32.add (local.get $i) (i32.const 100)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000))))
      (global.set $n (local.get $i)))
    (export "memory" (memory 0)))`);
  const { bytes, shape } = exposeState(scattered);
  const ran = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
  (ran.run as () => void)();
  const out = applySnapshot(scattered, readState(shape, ran));
  const info = readModuleInfo(out);
  assert.equal(info.memories, [{ initialPages: 16, maximumPages: 20, imported: false }]);
  assert.ok(info.dataSegments <= MAX_SNAPSHOT_SEGMENTS, `${info.dataSegments} segments`);
  const snap = new WebAssembly.Instance(new WebAssembly.Module(out as Uint8Array<ArrayBuffer>)).exports;
  const before = new Uint8Array((ran.memory as WebAssembly.Memory).buffer);
  const after = new Uint8Array((snap.memory as WebAssembly.Memory).buffer);
  assert.ok(Buffer.from(after).equals(Buffer.from(before)), "10,000 bytes 100 apart (more than the cap, each its own run at the first gap), every one back");
});

test("a module with passive data is refused: its code names segments by index", () => {
  const passive = wat(`(module (memory 1) (global $g (mut i32) (i32.const 0)) (data "x")
    (func (export "f") (memory.init 0 (i32.const 0) (i32.const 0) (i32.const 1)) (global.set $g (i32.const 1))))`);
  const { bytes, shape } = exposeState(passive);
  const ran = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports;
  assert.throws(() => applySnapshot(passive, readState(shape, ran)), (e: unknown) => e instanceof SnapshotUnsupported);
});

test.run();
