import * as assert from "uvu/assert";
import { EVENT_BURST, EVENTS_PER_SECOND } from "../../host/services/event-budget.ts";
import { example, openHost, test } from "../helpers.ts";
import { AS_GUEST, eventsOf, KV_DENIED } from "./guests.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("10,000 denied kv calls in one call write one event; 50 such calls stay within the budget and the next event counts the rest", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "looper", source: AS_GUEST, language: "assemblyscript", capabilities: ["log"] });
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });

    const one = await t.host.call("a", "looper", "loop");
    assert.is(one.output, "10000", "every one of the 10,000 kv.get calls answered access-denied, none trapped");
    let denied = await eventsOf(t.host, "a", "capability_denied");
    assert.is(denied.length, 1, "one event for one distinct import denied in a call");

    const started = performance.now();
    const calls = Array.from({ length: 50 }, () => t.host.call("a", "looper", "loop"));
    const other = t.host.call("b", "echo", "still here");
    for (const r of await Promise.all(calls)) assert.is(r.output, "10000");
    const elapsedMs = performance.now() - started;
    assert.is((await other).output, "still here", "another tenant's service answers during the loop");

    // Past 1/EVENTS_PER_SECOND the bucket holds a token again: the next denial is written, with the count.
    await sleep(2000 / EVENTS_PER_SECOND);
    assert.is((await t.host.call("a", "looper", "fail").catch((e: Error) => e.message)), KV_DENIED);

    denied = await eventsOf(t.host, "a", "capability_denied");
    const allowed = EVENT_BURST + Math.ceil((EVENTS_PER_SECOND * elapsedMs) / 1000);
    console.log(`  50 calls of 10,000 denied kv.get took ${elapsedMs.toFixed(0)} ms: ${denied.length} events`);
    assert.ok(denied.length - 1 <= allowed, `${denied.length} events for 51 denying calls in ${elapsedMs.toFixed(0)} ms; the budget allows ${allowed} + 1`);
    // Every denial is an event or counted in the `suppressed` of a later one.
    const counted = denied.reduce((n, e) => n + 1 + Number(e.data.suppressed ?? 0), 0);
    assert.is(counted, 52, "1 + 50 + 1 denying calls, each written or counted");
    if (denied.length < 52) assert.ok(Number(denied.at(-1)!.data.suppressed) > 0, "the event after the burst says how many were left out");
    for (const e of denied) assert.equal([e.service, e.data.import, e.data.capability], ["looper", "kv.get", "kv"]);

    assert.equal(await eventsOf(t.host, "b", "capability_denied"), [], "the co-tenant has no denials");
    assert.is((await t.host.call("b", "echo", "after")).output, "after");
    assert.is(t.host.status("a", "looper").calls, 52);
    assert.equal((await t.host.verifyEvents()).ok, true);
  } finally {
    await t.close();
  }
});

test.run();
