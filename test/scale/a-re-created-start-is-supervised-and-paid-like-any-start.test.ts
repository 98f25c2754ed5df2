// A service whose instance was dropped (evicted, or never made by a cached deploy) runs its start
// code again inside its next call. That start is supervised like any start: a failing one counts
// one crash per burst and backs off, one that overruns its deadline is a failed start (not a slow
// call), its fuel is the caller's to pay, and a deploy without an instance stays without one
// when its worker is replaced before it answered.
import * as assert from "uvu/assert";
import { SoloError } from "../../host/index.ts";
import { example, fixture, openHost, rejects, test, type TestHost } from "../helpers.ts";
import { COSTLY_START, KV_START } from "./guests.ts";

const MIB = 1024 * 1024;
const ENOUGH = { fuel: 1_000_000_000, memoryBytes: 32 * MIB };

// One worker keeping one live instance: calling another service evicts the one called before.
// From the first crash on, a service backs off for a minute (the test never waits it out).
let t: TestHost;
test.before(async () => {
  t = await openHost({
    workers: 1, maxLiveInstances: 1, idleMs: 0, fairness: { isolatedWorkers: 0 }, breaker: { enabled: false },
    supervision: { crashesBeforeBackoff: 0, crashLimit: 5, backoffBaseMs: 60_000, backoffCapMs: 60_000 },
  });
  for (const s of ["e1", "e2"]) await t.host.deploy({ tenant: "z", service: s, source: example("echo.as.ts"), language: "assemblyscript" });
});
test.after(async () => {
  await t.close();
});

/** Drops the service's instance: a call to an echo without one makes that echo the worker's one live instance. */
async function evict(tenant: string, service: string): Promise<void> {
  const echo = t.host.status("z", "e1").memoryBytes === 0 ? "e1" : "e2";
  assert.is((await t.host.call("z", echo, "hi")).output, "hi");
  assert.is(t.host.status(tenant, service).memoryBytes, 0, `${service} was evicted`);
}

test("a burst to a service whose re-created start fails runs the start once, counts one crash and is charged one start", async () => {
  const { host } = t;
  await host.deploy({ tenant: "a", service: "burst", source: KV_START, language: "assemblyscript", limits: { fuel: 5_000_000 } });
  assert.is((await host.call("a", "burst", "start:trap")).output, "set");
  await evict("a", "burst");
  const before = host.status("a", "burst").fuelUsed;

  // Ten calls in one message: the worker answers the nine after the first with its error.
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => host.call("a", "burst", "x")));
  for (const r of results) {
    assert.is(r.status, "rejected");
    const e = (r as PromiseRejectedResult).reason as SoloError;
    assert.instance(e, SoloError);
    assert.is(e.code, "GUEST_TRAP", e.message);
    assert.match(e.message, /while starting/);
  }
  const s = host.status("a", "burst");
  assert.is(s.state, "running", "one crash, not ten: crashLimit 5 is not reached in one batch");
  assert.is(s.crashes?.consecutive, 1);
  assert.is(s.fuelUsed - before, 5_000_000, "the one start that ran is charged its whole fuel; the nine answered with its error ran nothing");
  // Supervision engaged: the next call backs off instead of running the start again.
  const wait = await rejects(host.call("a", "burst", "x"), "UNAVAILABLE");
  assert.is(wait.details?.reason, "crash-loop");
});

test("a re-created start that overruns its deadline answers a burst as a failed start, counted as one crash: one worker stop, the next call backs off", async () => {
  const { host } = t;
  // 1e10 fuel lasts about a second of looping: the 300 ms deadline stops the start first.
  await host.deploy({ tenant: "a", service: "slow", source: KV_START, language: "assemblyscript", limits: { fuel: 10_000_000_000, deadlineMs: 300 } });
  assert.is((await host.call("a", "slow", "start:spin")).output, "set");
  await evict("a", "slow");
  const restarts = host.stats().workerRestarts;

  // Three calls at once: the first one's start overruns; the two waiting behind it get the same
  // answer instead of each running the start again (and stopping the thread again).
  const answers = await Promise.all([1, 2, 3].map(() => host.call("a", "slow", "x").then(() => undefined, (err: SoloError) => err)));
  for (const e of answers) {
    assert.ok(e instanceof SoloError, "every call of the burst failed");
    assert.is(e.code, "DEADLINE_EXCEEDED");
    assert.match(e.message, /start function/);
    assert.match(e.message, /deadline of 300 ms/);
  }
  assert.is(host.stats().workerRestarts, restarts + 1, "one worker stop for the burst");
  const s = host.status("a", "slow");
  assert.is(s.state, "running", "the replaced worker re-installed it without running its start");
  assert.is(s.crashes?.consecutive, 1);
  assert.is(s.crashes?.last[0]?.code, "DEADLINE_EXCEEDED");

  const wait = await rejects(host.call("a", "slow", "x"), "UNAVAILABLE");
  assert.is(wait.details?.reason, "crash-loop");
  assert.is(host.stats().workerRestarts, restarts + 1, "the start did not run again");
  assert.is((await host.call("z", "e1", "still here")).output, "still here");
});

test("the call that re-creates an instance pays for its start: the reply's fuel, and the tenant's fuelPerSecond", async () => {
  const { host } = t;
  await host.deploy({ tenant: "c", service: "costly", source: COSTLY_START, language: "assemblyscript", limits: ENOUGH });
  const live = await host.call("c", "costly", "x");
  await evict("c", "costly");
  const again = await host.call("c", "costly", "x");
  assert.is(again.output, live.output);
  // The start loops 2,000,000 times before any call: at least a unit a turn.
  assert.ok(again.fuel - live.fuel >= 2_000_000, `a live call ${live.fuel}, one that made its instance ${again.fuel}`);

  // 200,000 a second pays many live calls, not a start: after one, the tenant waits for seconds.
  await host.setQuotas("c", { fuelPerSecond: 200_000 });
  assert.ok(live.fuel < 100_000, `a live call costs ${live.fuel}`);
  await evict("c", "costly");
  assert.is((await host.call("c", "costly", "x")).output, live.output);
  const refused = await rejects(host.call("c", "costly", "x"), "RESOURCE_EXHAUSTED");
  assert.is(refused.details?.quota, "fuelPerSecond");
  assert.ok((refused.details?.retryAfterMs as number) > 1000, `retry after ${refused.details?.retryAfterMs} ms`);
});

test("a deploy without an instance that is re-sent to a replaced worker still makes none", async () => {
  const { host } = t;
  await host.deploy({ tenant: "d", service: "first", source: COSTLY_START, language: "assemblyscript", limits: ENOUGH });
  await host.deploy({ tenant: "s", service: "spin", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 10_000_000_000, deadlineMs: 600 } });
  const before = host.stats();

  // The spinning call holds the worker; the proven deploy's install waits behind it when the
  // watchdog replaces the thread, so the pool sends it again to the new one.
  const spin = host.call("s", "spin", "");
  const deployed = host.deploy({ tenant: "d", service: "second", source: COSTLY_START, language: "assemblyscript", limits: ENOUGH });
  await rejects(spin, "DEADLINE_EXCEEDED");
  await deployed;
  const after = host.stats();
  assert.is(after.workerRestarts, before.workerRestarts + 1);
  assert.is(after.instances.deploysWithoutStart, before.instances.deploysWithoutStart + 1);
  assert.is(host.status("d", "second").memoryBytes, 0, "no instance until its first call");
  assert.ok((await host.call("d", "second", "x")).memoryBytes > 40 * 65536, "its first call made it");
});

test.run();
