// An uploaded component may carry its own solo:source-map (docs/API.md: "Where a guest failed"):
// it is the uploader's text, decoded on the worker when the guest traps, outside any fuel. Its
// cost is bounded and what it names cannot break a frame's line.
import * as assert from "uvu/assert";
import { concat, encodeName, encodeU32 } from "../../host/wasm/binary.ts";
import { MAX_MAPPINGS_CHARS, SOURCE_MAP_SECTION, customSection } from "../../host/wasm/source-map.ts";
import type { SoloError } from "../../host/index.ts";
import { rejects, test } from "../helpers.ts";
import { ABI, arena, component, wasm } from "./hostile.ts";

// handle (function 1: cabi_realloc is 0) traps at once.
const TRAP = `(module (memory (export "memory") 1) ${ABI}
  (func (export "handle") (param i32 i32) (result i32) unreachable))`;

/** A name section naming function `index`. */
function names(index: number, name: string): Uint8Array {
  const map = concat([encodeU32(1), encodeU32(index), encodeName(name)]);
  return customSection("name", concat([[1], encodeU32(map.length), map]));
}

async function trapWith(map: object, fnName = "handle"): Promise<Uint8Array> {
  return component(concat([await wasm(TRAP), customSection(SOURCE_MAP_SECTION, JSON.stringify(map)), names(1, fnName)]));
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

test("a map past the decoding limit is not decoded: the trap is a GUEST_TRAP without a stack, and the worker serves on", async () => {
  const a = await arena();
  try {
    // ~4 MB of one-segment mappings: the old decoder spent seconds of unmetered worker time on
    // 30 MB of them (the call then died of its deadline, taking the worker with it).
    const mappings = "AAAA,".repeat(Math.ceil(MAX_MAPPINGS_CHARS / 5) + 1);
    assert.ok(mappings.length > MAX_MAPPINGS_CHARS);
    await a.host.deploy({ tenant: "evil", service: "big", source: await trapWith({ sources: ["<guest>"], mappings }), language: "component" });
    const e = await rejects(a.host.call("evil", "big", ""), "GUEST_TRAP");
    assert.is(e.details?.stack, undefined, "nothing mapped");
    assert.match(e.message, /^guest trapped: unreachable/);
    assert.is(a.host.stats().workerRestarts, 0);
    await a.good();
  } finally {
    await a.close();
  }
});

test("names from an uploaded map and name section cannot put a line break or a terminal escape into a frame", async () => {
  const a = await arena();
  try {
    // Column 0 maps to the guest's file, every later column to a "library" source named with escapes.
    const map = { sources: ["<guest>", "\u001b[2J~lib/evil.ts\n    at handle (real.ts:1:1)"], mappings: "AAAA,CCAA" };
    await a.host.deploy({ tenant: "evil", service: "esc", source: await trapWith(map, "\u001b[31mhandle\u0007"), language: "component" });
    const e: SoloError = await rejects(a.host.call("evil", "esc", ""), "GUEST_TRAP");
    const stack = e.details?.stack as { file: string; function: string }[];
    assert.ok(Array.isArray(stack) && stack.length > 0, JSON.stringify(e.details));
    for (const f of stack) {
      assert.not.match(f.file, CONTROL, `file: ${JSON.stringify(f.file)}`);
      assert.not.match(f.function, CONTROL, `function: ${JSON.stringify(f.function)}`);
    }
    assert.not.match(e.message, CONTROL, `message: ${JSON.stringify(e.message)}`);
    assert.ok(stack.some((f) => f.function === "\ufffd[31mhandle\ufffd"), JSON.stringify(stack));
  } finally {
    await a.close();
  }
});

test("a map whose lines walk below zero names no place", async () => {
  const a = await arena();
  try {
    // "AADD": the guest's file, line -1, column -1.
    await a.host.deploy({ tenant: "evil", service: "neg", source: await trapWith({ sources: ["<guest>"], mappings: "AADD" }), language: "component" });
    const e = await rejects(a.host.call("evil", "neg", ""), "GUEST_TRAP");
    assert.is(e.details?.stack, undefined, JSON.stringify(e.details));
  } finally {
    await a.close();
  }
});

test.run();
