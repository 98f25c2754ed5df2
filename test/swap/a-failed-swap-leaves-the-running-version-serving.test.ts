// A swap that cannot go through answers why, and the running version keeps serving, untouched:
// source that does not compile, a component importing outside the world, a new version that fails
// a health check or whose migrate fails, bad options, a service that does not exist.
import * as assert from "uvu/assert";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { openHost, rejects, test } from "../helpers.ts";
import { wat } from "../meter/wat.ts";
import type { Host, SoloEvent } from "../../host/index.ts";
import { labelled, MIGRATE_FAILS, UNHEALTHY } from "./guests.ts";

const WASI_WIT = `package wasi:filesystem@0.2.0;
interface types {
  read-file: func(path: string) -> string;
}
world svc {
  import types;
  export handle: func(request: string) -> result<string, string>;
}`;
const WASI_CORE = `(module
  (import "wasi:filesystem/types@0.2.0" "read-file" (func (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "handle") (param i32 i32) (result i32) (i32.const 16))
)`;

async function swapEvents(host: Host): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of host.events("a")) if (e.type.startsWith("hot_swap")) out.push(e);
  return out;
}

/** The service still answers as version 1 did, with its count carried on. */
async function stillServing(host: Host, count: number): Promise<void> {
  assert.is((await host.call("a", "c", "x")).output, `v1:${count}`);
  const s = host.status("a", "c");
  assert.is(s.version, 1);
  assert.is(s.state, "running");
  assert.is(host.versions("a", "c").length, 1);
}

test("failed swaps answer their code and leave version 1 serving with its kv", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    await stillServing(host, 1);

    // A syntax error: COMPILE_ERROR with the file, line and column.
    const broken = labelled("v2").replace('return "v2:"', 'return "v2:" +* ');
    const e1 = await rejects(host.swap({ tenant: "a", service: "c", source: broken, language: "assemblyscript", file: "counter.as.ts" }), "COMPILE_ERROR");
    const d = (e1.details!.diagnostics as { file: string; line: number; column: number }[])[0]!;
    assert.equal([d.file, d.line], ["counter.as.ts", 6]);
    assert.ok(d.column > 0);
    await stillServing(host, 2);

    // A component that imports something outside the solo world: VALIDATION_FAILED, naming it.
    const component = await componentNew(await componentEmbed({ binary: wat(WASI_CORE), witSource: WASI_WIT, world: "svc", stringEncoding: "utf8" }));
    const e2 = await rejects(host.swap({ tenant: "a", service: "c", source: component, language: "component" }), "VALIDATION_FAILED");
    assert.match(e2.message, /wasi:filesystem\/types@0\.2\.0/);
    await stillServing(host, 3);

    // A health check the new version fails: GUEST_ERROR, with what it answered.
    const e3 = await rejects(host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", health: { request: "x", expect: "ok" } }), "GUEST_ERROR");
    assert.is(e3.details!.phase, "health");
    assert.is(e3.details!.got, "v2:4", "the check ran on the service's kv, and its write was dropped");
    await stillServing(host, 4);

    // A version whose migrate fails: its code and the guest's message; what migrate wrote is dropped.
    const e4 = await rejects(host.swap({ tenant: "a", service: "c", source: MIGRATE_FAILS, language: "assemblyscript" }), "GUEST_ERROR");
    assert.is(e4.details!.phase, "migrate");
    assert.match(e4.message, /the schema of version 1 is too old/);
    await stillServing(host, 5);
    // A version whose own health export fails.
    const e5 = await rejects(host.swap({ tenant: "a", service: "c", source: UNHEALTHY, language: "assemblyscript" }), "GUEST_ERROR");
    assert.is(e5.details!.phase, "health");
    assert.match(e5.message, /the database is not reachable/);
    await stillServing(host, 6);

    // Bad options are refused before anything is built.
    await rejects(host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", rollbackWindowMs: -1 }), "INVALID_ARGUMENT");
    await rejects(host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", maxFailureRate: 2 }), "INVALID_ARGUMENT");
    await rejects(host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", capabilities: ["files"] }), "INVALID_ARGUMENT");
    await rejects(host.swap({ tenant: "a", service: "nope", source: labelled("v2"), language: "assemblyscript" }), "NOT_FOUND");
    await rejects(host.swap({ tenant: "b", service: "c", source: labelled("v2"), language: "assemblyscript" }), "NOT_FOUND");
    await stillServing(host, 7);

    // Each failed attempt that got as far as building is recorded with its code.
    const events = await swapEvents(host);
    assert.equal(events.map((e) => [e.type, e.data.code]), [
      ["hot_swap_started", undefined], ["hot_swap_failed", "COMPILE_ERROR"],
      ["hot_swap_started", undefined], ["hot_swap_failed", "VALIDATION_FAILED"],
      ["hot_swap_started", undefined], ["hot_swap_failed", "GUEST_ERROR"],
      ["hot_swap_started", undefined], ["hot_swap_failed", "GUEST_ERROR"],
      ["hot_swap_started", undefined], ["hot_swap_failed", "GUEST_ERROR"],
    ]);

    // And a good swap after all that goes through, the count still running.
    await host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", health: { request: "x", expect: "v2:8" } });
    assert.is((await host.call("a", "c", "x")).output, "v2:8");
    // What the failed migrate wrote ("half") was never committed, nor seen by any later version.
    const reader = labelled("r").replace('return "r:" + next.toString();', 'const half = kv.get("half");\n  return "r:" + (half === null ? "none" : half);');
    await host.swap({ tenant: "a", service: "c", source: reader, language: "assemblyscript", rollbackWindowMs: 0 });
    assert.is((await host.call("a", "c", "x")).output, "r:none");
  } finally {
    await t.close();
  }
});

test("one swap at a time: a second swap, a kill or a rollback during a swap is UNAVAILABLE and changes nothing", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    const first = host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript" });
    const e = await rejects(host.swap({ tenant: "a", service: "c", source: labelled("v3"), language: "assemblyscript" }), "UNAVAILABLE");
    assert.match(e.message, /under way/);
    await rejects(host.kill("a", "c"), "UNAVAILABLE");
    await rejects(host.rollback("a", "c", 1), "UNAVAILABLE");
    assert.is((await first).version, 2);
    assert.is((await host.call("a", "c", "x")).output, "v2:1");
    await host.kill("a", "c");
    assert.equal(host.list("a"), []);
  } finally {
    await t.close();
  }
});

test.run();
