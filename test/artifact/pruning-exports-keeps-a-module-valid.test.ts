import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { pruneExports } from "../../host/wasm/prune-exports.ts";
import { loadWabt, watToBinary } from "../fuzz/wat.ts";

// An export is also what lets code take a function's reference (`ref.func`) when no element
// segment names it. Pruning such an export must not turn a valid module into an invalid one.
const exportedNames = (bytes: Uint8Array) => WebAssembly.Module.exports(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>)).map((e) => e.name).sort();

test("functions whose exports go can still be named by ref.func, with or without element segments of the module's own", async () => {
  await loadWabt();
  const onlyExports = watToBinary(`(module
    (func $f (result i32) i32.const 7)
    (func $g (result i32) i32.const 8)
    (func (export "take") (result funcref) ref.func $f)
    (export "f" (func $f))
    (export "g" (func $g))
    (global (export "n") i32 (i32.const 1)))`);
  const withTable = watToBinary(`(module
    (table 2 funcref)
    (func $f (result i32) i32.const 7)
    (func $h (result i32) i32.const 9)
    (elem (i32.const 0) $h)
    (func (export "take") (result funcref) ref.func $f)
    (export "f" (func $f)))`);
  for (const [label, bytes, expectDropped] of [["no element section", onlyExports, 3], ["an element section of its own", withTable, 1]] as const) {
    assert.ok(WebAssembly.validate(bytes), `${label}: valid before`);
    const pruned = pruneExports(bytes, new Set(["take"]));
    assert.ok(pruned, `${label}: something was pruned`);
    assert.is(pruned!.dropped, expectDropped, label);
    assert.ok(WebAssembly.validate(pruned!.bytes), `${label}: still valid after pruning`);
    assert.equal(exportedNames(pruned!.bytes), ["take"], `${label}: only the kept export is left`);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(pruned!.bytes));
    assert.is(typeof (inst.exports.take as () => unknown)(), "function", `${label}: ref.func still yields the function`);
  }
});

test("a module whose exports are all kept comes back as it was", async () => {
  await loadWabt();
  const bytes = watToBinary(`(module (func (export "a")) (memory (export "m") 1))`);
  assert.is(pruneExports(bytes, new Set(["a"])), undefined);
});

test.run();
