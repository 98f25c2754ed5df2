// Modules the meter cannot charge exactly, or that would point its counters at themselves, are
// refused at deploy with VALIDATION_FAILED naming what to remove; nothing of them ever runs.
import * as assert from "uvu/assert";
import { test } from "../helpers.ts";
import { concat } from "../../host/wasm/binary.ts";
import { ABI, arena, attack, component, rawCommand } from "./hostile.ts";
import { DEFAULT_METER_SETTINGS, meter } from "../../host/wasm/index.ts";
import { loadWabt, watToBinary } from "../fuzz/wat.ts";
import type { SoloError } from "../../host/index.ts";

/** A component whose core module adds `body` to the ABI exports and a trivial handle. */
const core = (body: string, memory = `(memory (export "memory") 1)`) => `(module ${memory} ${ABI}
  (func (export "handle") (param i32 i32) (result i32) (i32.const 16))
  ${body})`;

const deploy = (source: Uint8Array, service = "evil") => (host: import("../../host/index.ts").Host) =>
  host.deploy({ tenant: "evil", service, source, language: "component" });

test("a module that names globals it does not define (to reach the meter's counters) is refused", async () => {
  // global.set 3 in a module with one global: after metering, index 3 would be the fuel counter.
  const a = await arena();
  try {
    const e = await attack(a, deploy(await component(core(`(func (export "cheat") (global.set 3 (i64.const 99999999999)))`))), "VALIDATION_FAILED");
    assert.match(e.message, /does not validate/);
    assert.equal(a.host.list("evil"), []);
  } finally {
    await a.close();
  }
});

test("a shared memory waited on by the start function is refused before anything runs", async () => {
  const a = await arena();
  try {
    const e = await attack(a, deploy(await component(core(
      `(func $wait (drop (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const -1)))) (start $wait)`,
      `(memory (export "memory") 1 1 shared)`))), "VALIDATION_FAILED");
    assert.match(e.message, /shared memory|threads/);
  } finally {
    await a.close();
  }
});

test("exception handling (a start function looping through a handler, an uncaught throw) is refused", async () => {
  const a = await arena();
  try {
    const looping = core(`(tag $t) (func $spin (loop $l (try (do (throw $t)) (catch $t (br $l))))) (start $spin)`);
    const e = await attack(a, deploy(await component(looping)), "VALIDATION_FAILED");
    assert.match(e.message, /exception handling/);
    const thrower = core(`(tag $t) (func (export "boom") (throw $t))`);
    assert.match((await attack(a, deploy(await component(thrower), "thrower"), "VALIDATION_FAILED")).message, /exception handling/);
  } finally {
    await a.close();
  }
});

test("a table of ten million entries is refused; a growing table is capped and charged", async () => {
  const a = await arena();
  try {
    const e = await attack(a, deploy(await component(core(`(table 10000000 funcref)`))), "VALIDATION_FAILED");
    assert.equal(e.details, { item: "table", limit: "maxTableEntries", value: 10_000_000, max: 100_000 });
  } finally {
    await a.close();
  }
});

test("nesting past the bound and a function body past its size are refused", async () => {
  const a = await arena();
  try {
    // 1,100 nested blocks (the bound is 1,024), then 1.1 MB of nops (the bound is 1 MiB).
    const deep = rawCommand(concat([new Uint8Array(1100 * 2).map((_, i) => (i % 2 ? 0x40 : 0x02)), new Uint8Array(1100).fill(0x0b)]));
    const e1 = await attack(a, (h) => h.deploy({ tenant: "evil", service: "deep", source: deep, language: "javy" }), "VALIDATION_FAILED");
    assert.is(e1.details?.limit, "maxNesting");
    const huge = rawCommand(new Uint8Array(1_100_000).fill(0x01));
    const e2 = await attack(a, (h) => h.deploy({ tenant: "evil", service: "huge", source: huge, language: "javy" }), "VALIDATION_FAILED");
    assert.is(e2.details?.limit, "maxFunctionBytes");
  } finally {
    await a.close();
  }
});

test("several memories and 64-bit memories are refused", async () => {
  const a = await arena();
  try {
    // Refused by the shape check and the module reader before V8 or the meter sees them (Node 24's
    // V8 would accept both; the meter refuses them too: instructions.ts, survey()).
    const two = core(`(memory $second 1)`);
    assert.match((await attack(a, deploy(await component(two)), "VALIDATION_FAILED")).message, /module has 2 memories; the limit is 1/);
    const wide = core(``, `(memory (export "memory") i64 1)`);
    assert.match((await attack(a, deploy(await component(wide), "wide"), "VALIDATION_FAILED")).message, /64-bit memories/);
  } finally {
    await a.close();
  }
});

test("a core module that imports the host's own names (solo:meter's fuel counter, solo:memory) is refused by the meter, whatever runner it was meant for", async () => {
  await loadWabt();
  // A component's core modules share counters imported from "solo:meter"; one that imported
  // "fuel" itself would be handed the live counter and could set it to anything.
  const cases = [
    { text: `(module (import "solo:meter" "fuel" (global $f (mut i64))) (func (export "cheat") (global.set $f (i64.const 999999999999))))`, name: "solo:meter.fuel" },
    { text: `(module (import "solo:meter" "memory_budget" (global $b (mut i32))) (func (export "cheat") (global.set $b (i32.const -1))))`, name: "solo:meter.memory_budget" },
    { text: `(module (import "solo:memory" "memory" (memory 1)))`, name: "solo:memory.memory" },
  ];
  for (const c of cases) {
    for (const sharedCounters of [true, false]) {
      let refused: SoloError | undefined;
      try {
        meter(watToBinary(c.text), { ...DEFAULT_METER_SETTINGS, sharedCounters });
      } catch (err) {
        refused = err as SoloError;
      }
      assert.ok(refused, `${c.name} (shared counters: ${sharedCounters}) was metered`);
      assert.is(refused!.code, "VALIDATION_FAILED");
      assert.is(refused!.details?.import, c.name);
      assert.match(refused!.message, /"solo:meter" and "solo:memory" are the host's own/);
    }
  }
});

test.run();
