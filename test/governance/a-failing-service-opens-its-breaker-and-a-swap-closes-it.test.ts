// The circuit breaker per service: past its failure rate it opens (circuit_opened, status, calls
// refused at once with UNAVAILABLE and retryAfterMs, never reaching the worker); after the
// cool-down it half-opens, a failed trial opens it again, successful trials close it, and a swap
// to a fixed version closes it at once. Handled failures (GUEST_ERROR) do not count, and a trap
// loop meets crash supervision first.
import * as assert from "uvu/assert";
import type { Host, SoloEvent } from "../../host/index.ts";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

const BREAKER = { minCalls: 5, windowMs: 10_000, failureRate: 0.5, coolDownMs: 300, halfOpenCalls: 2 };

/** The tenant's events of `type`, once at least `n` are stored (they are written after the call answers). */
async function eventsOf(host: Host, tenant: string, type: SoloEvent["type"], n: number): Promise<SoloEvent[]> {
  for (let i = 0; ; i++) {
    const out: SoloEvent[] = [];
    for await (const e of host.events(tenant, { type })) out.push(e);
    if (out.length >= n || i === 100) return out;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a service that runs out of fuel on every call opens its breaker, refuses at once, re-opens on a failed trial, and a swap to a fixed version closes it", async () => {
  const t = await openHost({ breaker: BREAKER });
  try {
    await t.host.deploy({ tenant: "acme", service: "flaky", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 1_000_000 } });
    assert.equal(t.host.status("acme", "flaky").circuit, { state: "closed", calls: 0, failures: 0, opens: 0 });

    for (let i = 0; i < BREAKER.minCalls; i++) await rejects(t.host.call("acme", "flaky", "x"), "FUEL_EXHAUSTED");
    const open = t.host.status("acme", "flaky");
    assert.is(open.circuit.state, "open");
    assert.is(open.circuit.opens, 1);
    assert.ok(open.circuit.retryAfterMs! > 0 && open.circuit.retryAfterMs! <= BREAKER.coolDownMs, `retryAfterMs ${open.circuit.retryAfterMs}`);
    assert.ok(typeof open.circuit.openedAt === "string");

    // Open: refused before it queues; the guest does not run (calls and fuel stay as they were).
    const e = await rejects(t.host.call("acme", "flaky", "x"), "UNAVAILABLE");
    assert.is(e.details?.reason, "circuit-open");
    assert.ok((e.details?.retryAfterMs as number) > 0, "a retry hint");
    assert.match(e.message, /circuit breaker is open/);
    const after = t.host.status("acme", "flaky");
    assert.is(after.calls, open.calls, "the refused call never ran");
    assert.is(after.fuelUsed, open.fuelUsed);
    assert.is(after.errors.UNAVAILABLE, 1);

    const opened = await eventsOf(t.host, "acme", "circuit_opened", 1);
    assert.is(opened.length, 1);
    assert.is(opened[0]!.service, "flaky");
    assert.is(opened[0]!.data.reason, "failure-rate");
    assert.is(opened[0]!.data.calls, 5);
    assert.is(opened[0]!.data.failures, 5);
    assert.is(opened[0]!.data.code, "FUEL_EXHAUSTED");

    // After the cool-down a trial call runs; it fails, so the breaker opens again.
    await sleep(BREAKER.coolDownMs + 20);
    assert.is(t.host.status("acme", "flaky").circuit.state, "half-open");
    await rejects(t.host.call("acme", "flaky", "x"), "FUEL_EXHAUSTED");
    assert.is(t.host.status("acme", "flaky").circuit.state, "open");
    assert.is(t.host.status("acme", "flaky").circuit.opens, 2);
    assert.is((await rejects(t.host.call("acme", "flaky", "x"), "UNAVAILABLE")).details?.reason, "circuit-open");
    const reopened = await eventsOf(t.host, "acme", "circuit_opened", 2);
    assert.is(reopened[1]!.data.reason, "trial-failed");
    // /metrics shows the open breaker and the transitions into open.
    const open2 = await t.host.metrics();
    assert.match(open2, /^solo_circuit_breakers\{state="open"\} 1$/m);
    assert.match(open2, /^solo_circuit_breaker_transitions_total\{state="open"\} 2$/m);

    // A swap to a fixed version closes it at once: no cool-down, no trials.
    await t.host.swap({ tenant: "acme", service: "flaky", source: example("echo.as.ts"), rollbackWindowMs: 0 });
    assert.equal(t.host.status("acme", "flaky").circuit, { state: "closed", calls: 0, failures: 0, opens: 0 });
    const closed = await eventsOf(t.host, "acme", "circuit_closed", 1);
    assert.is(closed.length, 1);
    assert.is(closed[0]!.data.reason, "swapped");
    assert.is(closed[0]!.data.version, 2);
    for (let i = 0; i < 3; i++) assert.is((await t.host.call("acme", "flaky", `ok ${i}`)).output, `ok ${i}`);
    assert.is(t.host.status("acme", "flaky").circuit.calls, 3);
    const closedText = await t.host.metrics();
    assert.match(closedText, /^solo_circuit_breakers\{state="open"\} 0$/m);
    assert.match(closedText, /^solo_circuit_breaker_transitions_total\{state="closed"\} 1$/m);
  } finally {
    await t.close();
  }
});

test("successful trial calls close the breaker by themselves; handled failures never open it; a trap loop meets crash supervision first", async () => {
  // A back-off long enough that the call after the third crash meets it however slow the machine.
  const t = await openHost({ breaker: BREAKER, supervision: { backoffBaseMs: 60_000, backoffCapMs: 60_000 } });
  try {
    // spin(N) needs ~N * 4 units: within 1e6 for "10", not for "10000000".
    await t.host.deploy({ tenant: "acme", service: "spin", source: fixture("spin.as.ts"), language: "assemblyscript", limits: { fuel: 1_000_000 } });
    for (let i = 0; i < BREAKER.minCalls; i++) await rejects(t.host.call("acme", "spin", "10000000"), "FUEL_EXHAUSTED");
    assert.is(t.host.status("acme", "spin").circuit.state, "open");
    await sleep(BREAKER.coolDownMs + 20);
    // Half-open: halfOpenCalls trials at once; a third call meanwhile is refused.
    const trials = [t.host.call("acme", "spin", "10"), t.host.call("acme", "spin", "10")];
    const extra = await rejects(t.host.call("acme", "spin", "10"), "UNAVAILABLE");
    assert.is(extra.details?.reason, "circuit-open");
    for (const r of await Promise.all(trials)) assert.ok(r.output.length > 0);
    assert.is(t.host.status("acme", "spin").circuit.state, "closed");
    const closed = await eventsOf(t.host, "acme", "circuit_closed", 1);
    assert.is(closed[0]!.data.reason, "trials-succeeded");
    assert.is(closed[0]!.data.trials, 2);
    assert.is((await t.host.call("acme", "spin", "10")).output.length > 0, true);

    // GUEST_ERROR is the guest answering; however many, the breaker stays closed.
    await t.host.deploy({ tenant: "acme", service: "moody", source: fixture("moody.as.ts"), language: "assemblyscript" });
    for (let i = 0; i < 20; i++) await rejects(t.host.call("acme", "moody", "fail"), "GUEST_ERROR");
    assert.equal(t.host.status("acme", "moody").circuit, { state: "closed", calls: 20, failures: 0, opens: 0 });

    // Every call traps: supervision backs off after 3 crashes in a row (reason crash-loop),
    // long before the breaker's minCalls; the breaker counts the 3 but stays closed.
    for (let i = 0; i < 3; i++) await rejects(t.host.call("acme", "moody", "trap"), "GUEST_TRAP");
    const backoff = await rejects(t.host.call("acme", "moody", "trap"), "UNAVAILABLE");
    assert.is(backoff.details?.reason, "crash-loop");
    const st = t.host.status("acme", "moody");
    assert.equal(st.circuit, { state: "closed", calls: 23, failures: 3, opens: 0 });
    assert.is(st.crashes?.consecutive, 3);
  } finally {
    await t.close();
  }
});

test("breaker settings are checked at open", async () => {
  for (const [breaker, field] of [[{ failureRate: 0 }, "breaker.failureRate"], [{ minCalls: 0 }, "breaker.minCalls"], [{ coolDownMs: 1.5 }, "breaker.coolDownMs"]] as const) {
    const e = await rejects(openHost({ breaker }), "INVALID_ARGUMENT");
    assert.is(e.details?.field, field);
  }
});

test.run();
