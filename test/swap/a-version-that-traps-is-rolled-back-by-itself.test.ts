// A new version that traps within its rollback window is switched back by Solo itself; the
// counter's kv value survives the swap and the rollback.
import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";
import type { SoloEvent } from "../../host/index.ts";
import { labelled, TRAPS_ON_THIRD_CALL } from "./guests.ts";

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

async function eventsOf(host: import("../../host/index.ts").Host, tenant: string): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of host.events(tenant)) out.push(e);
  return out;
}

test("a version that traps on its 3rd call is rolled back automatically and the count survives both switches", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "counter", source: labelled("v1"), language: "assemblyscript" });
    assert.is((await host.call("a", "counter", "x")).output, "v1:1");
    assert.is((await host.call("a", "counter", "x")).output, "v1:2");

    const swapped = await host.swap({ tenant: "a", service: "counter", source: TRAPS_ON_THIRD_CALL, language: "assemblyscript" });
    assert.is(swapped.version, 2);
    assert.is(swapped.previousVersion, 1);
    assert.ok(swapped.rollbackUntil! > Date.now(), "a rollback window is open");
    assert.is(host.status("a", "counter").rollbackWindow?.previousVersion, 1);

    assert.is((await host.call("a", "counter", "x")).output, "bad:3");
    assert.is((await host.call("a", "counter", "x")).output, "bad:4");
    await rejects(host.call("a", "counter", "x"), "GUEST_TRAP");
    await until(() => host.status("a", "counter").version === 1, "Solo rolled back to version 1");

    const s = host.status("a", "counter");
    assert.is(s.previousVersion, 2);
    assert.is(s.rollbackWindow, undefined, "the window closed with the rollback");
    // The trapped call's write was dropped; the committed count carries on in version 1.
    assert.is((await host.call("a", "counter", "x")).output, "v1:5");

    const events = await eventsOf(host, "a");
    const types = events.map((e) => e.type).filter((x) => x.startsWith("hot_swap"));
    assert.equal(types, ["hot_swap_started", "hot_swap_succeeded", "hot_swap_rolled_back"]);
    const rolled = events.find((e) => e.type === "hot_swap_rolled_back")!;
    assert.is(rolled.data.automatic, true);
    assert.is(rolled.data.fromVersion, 2);
    assert.is(rolled.data.toVersion, 1);
    assert.equal(rolled.data.codes, { GUEST_TRAP: 1 });
    assert.match(String(rolled.data.reason), /1 of 3 calls/);
    // Both versions stay in the history; version 1 is current again.
    assert.equal(host.versions("a", "counter").map((v) => [v.version, v.current, v.via]), [[1, true, "deploy"], [2, false, "swap"]]);
  } finally {
    await t.close();
  }
});

test("a failure rate under the threshold keeps the new version; GUEST_ERROR never counts", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    const v2 = labelled("v2").replace('const c = kv.get("count");', 'if (request == "no") return fail("refused"); if (request == "trap") unreachable();\n  const c = kv.get("count");');
    await host.swap({ tenant: "a", service: "c", source: v2, language: "assemblyscript", maxFailureRate: 0.5 });
    for (let i = 0; i < 5; i++) await rejects(host.call("a", "c", "no"), "GUEST_ERROR");
    for (let i = 0; i < 3; i++) await host.call("a", "c", "ok");
    await rejects(host.call("a", "c", "trap"), "GUEST_TRAP"); // 1 of 9 calls: under 50%
    await new Promise((r) => setTimeout(r, 50));
    const s = host.status("a", "c");
    assert.is(s.version, 2);
    assert.equal(s.rollbackWindow && { calls: s.rollbackWindow.calls, failures: s.rollbackWindow.failures }, { calls: 9, failures: 1 });
  } finally {
    await t.close();
  }
});

test("manual rollback to the previous version and to a named one; the window is not required", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    await host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", rollbackWindowMs: 0 });
    await host.swap({ tenant: "a", service: "c", source: labelled("v3"), language: "assemblyscript", rollbackWindowMs: 0 });
    assert.is((await host.call("a", "c", "x")).output, "v3:1");
    const back = await host.rollback("a", "c");
    assert.equal([back.version, back.previousVersion], [2, 3]);
    assert.is((await host.call("a", "c", "x")).output, "v2:2");
    await host.rollback("a", "c", 1);
    assert.is((await host.call("a", "c", "x")).output, "v1:3");
    const e1 = await rejects(host.rollback("a", "c", 1), "INVALID_ARGUMENT");
    assert.match(e1.message, /already current/);
    const e2 = await rejects(host.rollback("a", "c", 9), "NOT_FOUND");
    assert.match(e2.message, /versions are 1, 2, 3/);
    await rejects(host.rollback("a", "c", 0), "INVALID_ARGUMENT");
    // A new swap after rollbacks takes the next number, never one already used.
    assert.is((await host.swap({ tenant: "a", service: "c", source: labelled("v4"), language: "assemblyscript", rollbackWindowMs: 0 })).version, 4);
  } finally {
    await t.close();
  }
});

test.run();
