// The WebAssembly proposals this Node accepts with no flags are exactly the reviewed ones
// (docs/SECURITY.md, "Engines"): a Node upgrade that turns on another one fails here, before a
// guest can send code that uses it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { probeProposals } from "./wasm-proposals.ts";

// On in every reviewed engine.
const BASE = [
  "mutable-globals", "sign-extension", "sat-float-to-int", "multi-value", "bulk-memory", "reference-types", "simd",
  "threads (shared memory, atomics)", "tail-call", "exception-handling (legacy try/catch)",
];
// On from Node 22 (V8 12.4).
const V8_12 = [
  "extended-const", "exception-handling (exnref, try_table)", "relaxed-simd", "multi-memory", "memory64",
  "typed-function-references", "gc (struct, array, i31)", "js-string-builtins",
];
const REVIEWED: Record<number, string[]> = {
  20: BASE,
  22: [...BASE, ...V8_12],
  24: [...BASE, ...V8_12, "imported-string-constants", "JSPI (WebAssembly.Suspending)"],
  26: [...BASE, ...V8_12, "imported-string-constants", "JSPI (WebAssembly.Suspending)"],
};

test("the engine turns on exactly the reviewed WebAssembly proposals", async () => {
  const major = Number(process.versions.node.split(".")[0]);
  const seen = await probeProposals();
  const on = [...seen].filter(([, v]) => v).map(([k]) => k).sort();
  const expected = REVIEWED[major];
  assert.ok(
    expected,
    `Node ${process.version}'s WebAssembly proposals are not reviewed; it turns on: ${on.join(", ")}. ` +
      "Run test/engine/wasm-proposals.ts, add the engine to docs/SECURITY.md (Engines) and to this test",
  );
  assert.equal(on, [...expected!].sort());
});

test.run();
