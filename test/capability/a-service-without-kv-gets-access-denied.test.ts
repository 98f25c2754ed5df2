import * as assert from "uvu/assert";
import { wasm } from "../abuse/hostile.ts";
import { openHost, rejects, test } from "../helpers.ts";
import { AS_GUEST, eventsOf, KV_DENIED, kvComponent, TS_GUEST } from "./guests.ts";

test("a TypeScript guest deployed with only log gets access-denied from kv, as an error it can catch; with the default set kv works", async () => {
  const t = await openHost();
  try {
    const d = await t.host.deploy({ tenant: "a", service: "nokv", source: TS_GUEST, language: "typescript", capabilities: ["log"] });
    assert.equal(d.capabilities, ["log"]);
    await t.host.deploy({ tenant: "a", service: "withkv", source: TS_GUEST, language: "typescript" });

    assert.is((await t.host.call("a", "nokv", "x")).output, `caught ${KV_DENIED}`, "the guest caught the error and answered");
    const thrown = await rejects(t.host.call("a", "nokv", "throw"), "GUEST_ERROR");
    // Uncaught, the call fails as the guest chose: GUEST_ERROR (no trap), at the guest's kv.get line.
    assert.match(thrown.message, /^nokv\.ts:6:\d+ \(handle\): /);
    assert.is(thrown.message.replace(/^nokv\.ts:6:\d+ \(handle\): /, ""), KV_DENIED);
    assert.is((await t.host.call("a", "withkv", "x")).output, "kv v");

    const denied = await eventsOf(t.host, "a", "capability_denied");
    assert.equal(denied.map((e) => [e.service, e.data.import, e.data.capability]), [["nokv", "kv.set", "kv"], ["nokv", "kv.get", "kv"]]);
    assert.is(t.host.status("a", "nokv").errors.GUEST_TRAP, undefined);
    assert.equal(t.host.status("a", "withkv").capabilities, ["clock", "kv", "log", "random"]);
  } finally {
    await t.close();
  }
});

test("an AssemblyScript guest without kv reads access-denied from lastError(); fail() is a GUEST_ERROR; with kv it works", async () => {
  const logs: string[] = [];
  const t = await openHost({ onLog: (l) => logs.push(`${l.service} ${l.message}`) });
  try {
    await t.host.deploy({ tenant: "a", service: "nokv", source: AS_GUEST, language: "assemblyscript", capabilities: ["log"] });
    await t.host.deploy({ tenant: "a", service: "withkv", source: AS_GUEST, language: "assemblyscript" });
    await t.host.deploy({ tenant: "a", service: "mute", source: AS_GUEST, language: "assemblyscript", capabilities: ["kv"] });

    assert.is((await t.host.call("a", "nokv", "kv")).output, KV_DENIED);
    const failed = await rejects(t.host.call("a", "nokv", "fail"), "GUEST_ERROR");
    assert.is(failed.message, KV_DENIED);
    assert.is((await t.host.call("a", "withkv", "kv")).output, "kv v");

    // Imports without an error type: a denied log line is dropped, a denied clock and random read 0.
    assert.is((await t.host.call("a", "mute", "log")).output, "logged");
    assert.is((await t.host.call("a", "nokv", "log")).output, "logged");
    assert.equal(logs, ["nokv a line from the guest"]);
    assert.is((await t.host.call("a", "mute", "clock")).output, "0 0");
    const [now, random] = (await t.host.call("a", "withkv", "clock")).output.split(" ").map(Number);
    assert.ok(now! > 1.6e12, "the granted clock is the host's");
    assert.ok(random !== undefined);

    const denied = await eventsOf(t.host, "a", "capability_denied");
    assert.equal(denied.map((e) => `${e.service} ${String(e.data.import)} ${String(e.data.capability)}`), [
      "nokv kv.set kv",
      "nokv kv.get kv",
      "mute log log",
      "mute clock.now-ms clock",
      "mute random.next-u64 random",
    ]);
    const deployed = await eventsOf(t.host, "a", "service_deployed", "mute");
    assert.equal(deployed[0]!.data.capabilities, ["kv"], "the deploy event names the capabilities");
  } finally {
    await t.close();
  }
});

test("a hand-written component without kv gets access-denied through the canonical ABI, charged like the granted call", async () => {
  const t = await openHost();
  try {
    const bytes = await kvComponent();
    await t.host.deploy({ tenant: "a", service: "nokv", source: bytes, language: "component", capabilities: [] });
    await t.host.deploy({ tenant: "a", service: "withkv", source: bytes, language: "component" });
    const no = await t.host.call("a", "nokv", "key");
    assert.is(no.output, 'kv is not granted to this service; deploy it with capability "kv"');
    assert.is((await t.host.call("a", "withkv", "key")).output, "key");
    assert.ok(no.fuel > 0, "the denied import is charged");
    assert.equal(t.host.status("a", "nokv").capabilities, []);
    const [e] = await eventsOf(t.host, "a", "capability_denied");
    assert.equal([e!.service, e!.data.import, e!.data.capability, e!.data.suppressed], ["nokv", "kv.get", "kv", undefined]);
  } finally {
    await t.close();
  }
});

test("start code denied an import at deploy records capability_denied before the deploy answers", async () => {
  const t = await openHost();
  try {
    const source = `import { kv } from "solo";\nconst boot = kv.get("boot");\nexport function handle(r: string): string { return boot === null ? "no boot" : boot!; }\n`;
    await t.host.deploy({ tenant: "a", service: "boot", source, language: "assemblyscript", capabilities: ["log"] });
    const denied = await eventsOf(t.host, "a", "capability_denied");
    assert.equal(denied.map((e) => e.data.import), ["kv.get"]);
    assert.is((await t.host.call("a", "boot", "")).output, "no boot");
  } finally {
    await t.close();
  }
});

test("a Javy (WASI) module without clock and random reads zeroes from clock_time_get and random_get; with them, the host's", async () => {
  const t = await openHost();
  try {
    // Writes 8 bytes of random_get and 8 of clock_time_get (realtime) to stdout, as they are.
    const bytes = await wasm(`(module
      (import "wasi_snapshot_preview1" "random_get" (func $rand (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")
        (i64.store (i32.const 100) (i64.const -1))
        (i64.store (i32.const 108) (i64.const -1))
        (drop (call $rand (i32.const 100) (i32.const 8)))
        (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 108)))
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 16))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);
    await t.host.deploy({ tenant: "a", service: "blind", source: bytes, language: "javy", capabilities: ["log"] });
    await t.host.deploy({ tenant: "a", service: "sees", source: bytes, language: "javy" });
    assert.is((await t.host.call("a", "blind", "")).output, "\0".repeat(16));
    assert.is.not((await t.host.call("a", "sees", "")).output.slice(8), "\0".repeat(8), "the granted clock is the host's");
    const denied = await eventsOf(t.host, "a", "capability_denied");
    assert.equal(denied.map((e) => `${e.service} ${String(e.data.import)} ${String(e.data.capability)}`), ["blind random.get random", "blind clock.now-ms clock"]);
  } finally {
    await t.close();
  }
});

test.run();
