import { transform } from "esbuild";
import * as assert from "uvu/assert";
import { concat } from "../../host/wasm/binary.ts";
import { meter } from "../../host/wasm/meter.ts";
import { METER_OFFSETS_SECTION, MeterOffsets, SOURCE_MAP_SECTION, SourceMapIndex, codeSectionStart, customSection, readCustomSection } from "../../host/wasm/source-map.ts";
import { test } from "../helpers.ts";
import { wat } from "../meter/wat.ts";

test("the decoder finds each generated position's source line and column in esbuild's map", async () => {
  const ts = `const alpha: number = 1;

function beta(x: number): number {
  const y: string = String(x);
  return x + alpha + y.length;
}
export { beta };
`;
  const out = await transform(ts, { loader: "ts", sourcemap: "external", sourcesContent: false, sourcefile: "in.ts" });
  const index = new SourceMapIndex(JSON.parse(out.map) as { sources: string[]; mappings: string });
  const js = out.code.split("\n");
  for (const [needle, line, column] of [["alpha = 1", 1, 7], ["beta(x)", 3, 10], ["String(x)", 4, 21], ["x + alpha", 5, 10]] as const) {
    const l = js.findIndex((text) => text.includes(needle));
    const pos = index.lookup(l, js[l]!.indexOf(needle));
    assert.equal(pos, { source: "in.ts", line, column }, needle);
  }
  assert.is(index.lookup(js.length + 5, 0), undefined, "a line past the end maps nowhere");
});

test("a trap in a metered module maps back to the original unreachable, and its caller to the original call", () => {
  const original = wat(`(module
    (func $inner (param i32) (result i32)
      (local $i i32)
      (loop $l
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
      (if (i32.eq (local.get $i) (i32.const 7)) (then unreachable))
      (local.get $i))
    (func (export "run") (param i32) (result i32)
      (i32.add (call $inner (local.get 0)) (i32.const 1))))`);
  // Only a module with a source map gets the meter's table.
  assert.is(readCustomSection(meter(original).bytes, METER_OFFSETS_SECTION), undefined);
  const withMap = concat([original, customSection(SOURCE_MAP_SECTION, JSON.stringify({ sources: [], mappings: "" }))]);
  const metered = meter(withMap).bytes;
  const table = readCustomSection(metered, METER_OFFSETS_SECTION);
  assert.ok(table, "the meter added its offsets");
  const offsets = new MeterOffsets(table);
  const instance = new WebAssembly.Instance(new WebAssembly.Module(metered));
  (instance.exports.solo_fuel as WebAssembly.Global).value = 1_000_000n;
  let stack = "";
  try {
    (instance.exports.run as (n: number) => number)(7);
  } catch (err) {
    stack = (err as Error).stack ?? "";
  }
  const frames = [...stack.matchAll(/wasm-function\[(\d+)\]:0x([0-9a-f]+)/g)].map((m) => parseInt(m[2]!, 16));
  // The export is the meter's entry wrapper (the fuel counter is threaded through calls): its
  // frame is the meter's own code and maps to no original instruction.
  assert.is(frames.length, 3, stack);
  assert.is(offsets.original(frames[2]!), undefined, "the entry wrapper is not the guest's code");
  const code = codeSectionStart(original)!;
  const at = frames.slice(0, 2).map((f) => offsets.original(f)! + code);
  assert.is(original[at[0]!], 0x00, "the trap is the original's unreachable");
  assert.is(original[at[1]!], 0x10, "the caller's frame is the original's call");
  assert.ok(frames[0]! !== at[0]!, "metering moved the code: the table is what maps it");
});

test.run();
