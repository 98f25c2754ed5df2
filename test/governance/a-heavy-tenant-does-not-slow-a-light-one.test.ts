// Noisy neighbour (issue #13): tenant B calls echo at a steady 200 calls/s alone, then while
// tenant A spins an infinite loop back to back (each call FUEL_EXHAUSTED) and runs a memory bomb
// (each call MEMORY_LIMIT). Every B call must answer; A's calls fail with their own codes; A ends on
// an isolated worker and B stays on a shared one. B's latencies are PRINTED (p50/p99 alone, while A
// starts, with A, and the p99 ratio; goal <= 1.5 on a 2-core machine), never asserted: timing does
// not decide a test. Run with the host's default worker count and with one shared worker.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { example, fixture, openHost, rejects, TEST_CACHE, test } from "../helpers.ts";
import { deployNoisy, runNoisy, type NoisyFigures } from "../../bench/noisy-neighbour-run.ts";

function print(label: string, f: NoisyFigures, placement: unknown) {
  console.log(`  [noisy neighbour, ${label}] B alone p50 ${f.solo.p50Ms} ms p99 ${f.solo.p99Ms} ms | while A starts p50 ${f.starting.p50Ms} p99 ${f.starting.p99Ms} max ${f.starting.maxMs} | with A p50 ${f.withA.p50Ms} ms p99 ${f.withA.p99Ms} ms | p99 ratio ${f.p99Ratio} (goal <= 1.5) | A: ${JSON.stringify(f.aCodes)} | placement ${JSON.stringify(placement)}`);
}

/** Polls until `done` (a move waits for a new thread to load: ~0.3 s idle, seconds on an overloaded machine). */
async function until(done: () => boolean, ms = 30_000) {
  for (const end = Date.now() + ms; !done() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
}

async function checkNoisy(f: NoisyFigures, host: Host) {
  assert.equal(f.bFailures, [], "every call of B answered its own request");
  assert.is(f.solo.calls + f.starting.calls + f.withA.calls, 600 + 300 + 600);
  // A's own failures, and refusals of A alone: its breaker opens (every call fails) and admission
  // sheds its closed-loop clients on its isolated worker. Nothing else.
  const allowed = ["FUEL_EXHAUSTED", "MEMORY_LIMIT", "UNAVAILABLE:circuit-open", "UNAVAILABLE:overloaded"];
  assert.ok(Object.keys(f.aCodes).every((c) => allowed.includes(c)), `A's calls fail with their own codes or A's refusals only: ${JSON.stringify(f.aCodes)}`);
  assert.ok(f.aCodes.FUEL_EXHAUSTED! > 0 && f.aCodes.MEMORY_LIMIT! > 0, `A's loop and bomb ran: ${JSON.stringify(f.aCodes)}`);
  await until(() => host.workerOf("a")?.isolated === true);
  assert.is(host.workerOf("a")?.isolated, true, "the heavy tenant was moved to an isolated worker");
  assert.is(host.workerOf("b")?.isolated, false, "the light tenant stays on a shared worker");
  assert.ok(host.stats().placement.isolations >= 1);
  assert.is(host.stats().placement.failedMoves, 0);
}

for (const workers of [undefined, 1]) {
  const label = workers === undefined ? "default workers" : `workers: ${workers}`;
  test(`a tenant spinning and bombing memory leaves another tenant's steady calls all answered (${label})`, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
    const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, ...(workers ? { workers } : {}) });
    try {
      await deployNoisy(host);
      const f = await runNoisy(host);
      print(label, f, host.stats().placement);
      await checkNoisy(f, host);
    } finally {
      await host.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

test("a moved tenant keeps its kv and every call sent while it moves, and comes back to a shared worker when quiet", async () => {
  const t = await openHost({ workers: 1, fairness: { loadWindowMs: 50, lightAfterMs: 300 } });
  try {
    await t.host.deploy({ tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" });
    // The default fuel (1e9): ~100 ms of spinning, well past heavyCallMs (20 ms) on any machine.
    await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    for (let i = 1; i <= 3; i++) assert.is((await t.host.call("a", "counter", "")).output, String(i));
    assert.equal(t.host.workerOf("a"), { worker: 0, isolated: false });

    // The loop marks A heavy; the counter calls sent meanwhile wait at the gate or finish first.
    const loop = rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    const counts = await Promise.all(Array.from({ length: 50 }, () => t.host.call("a", "counter", "").then((r) => Number(r.output))));
    await loop;
    assert.equal(counts.sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i + 4), "no count lost or repeated");
    await until(() => t.host.workerOf("a")?.isolated === true);
    const moved = t.host.workerOf("a")!;
    assert.is(moved.isolated, true);
    assert.ok(moved.worker >= 1, "isolated workers come after the shared ones");
    assert.is((await t.host.call("a", "counter", "")).output, "54", "the committed kv moved with it");
    assert.equal(t.host.workerOf("b"), { worker: 0, isolated: false });

    // A swap on the isolated worker, then quiet: A goes back to the shared worker with its kv.
    await t.host.swap({ tenant: "a", service: "counter", source: example("counter.as.ts").replace("answers the new count", "(v2)"), language: "assemblyscript", rollbackWindowMs: 0 });
    assert.is((await t.host.call("a", "counter", "")).output, "55");
    await until(() => t.host.workerOf("a")?.isolated === false);
    assert.equal(t.host.workerOf("a"), { worker: 0, isolated: false }, "quiet for lightAfterMs: back on a shared worker");
    assert.is((await t.host.call("a", "counter", "")).output, "56");
    const s = t.host.stats().placement;
    assert.is(s.isolations, 1);
    assert.is(s.returns, 1);
    assert.is(s.failedMoves, 0);
    assert.is(t.host.status("a", "counter").version, 2);
  } finally {
    await t.close();
  }
});

test("on one worker with placement off, a light call runs after the heavy call running now, not after every one queued", async () => {
  const t = await openHost({ workers: 1, fairness: { isolatedWorkers: 0 } });
  try {
    await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 300_000_000 } });
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const order: string[] = [];
    const heavy = Array.from({ length: 5 }, () => rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED").then(() => void order.push("a")));
    const light = t.host.call("b", "echo", "hi").then((r) => void order.push(`b:${r.output}`));
    await Promise.all([...heavy, light]);
    assert.equal(order.length, 6);
    assert.ok(order.indexOf("b:hi") <= 1, `B answered after A's first call at the latest: ${order.join(" ")}`);
  } finally {
    await t.close();
  }
});

test("fairness settings are checked when the host opens", async () => {
  for (const fairness of [{ isolatedWorkers: -1 }, { heavyShare: 2 }, { nice: 20 }, { heavyCallMs: Number.NaN }, { wrong: 1 }]) {
    const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
    try {
      const e = await rejects(Host.open({ dataDir, cacheDir: TEST_CACHE, fairness: fairness as never }), "INVALID_ARGUMENT");
      assert.match(e.message, /fairness\./);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
});

test("with isolatedWorkers 0 nobody moves", async () => {
  const t = await openHost({ workers: 1, fairness: { isolatedWorkers: 0 } });
  try {
    await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 300_000_000 } });
    await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    assert.equal(t.host.workerOf("a"), { worker: 0, isolated: false });
    assert.is(t.host.stats().placement.isolatedWorkers, 0);
  } finally {
    await t.close();
  }
});

test.run();
