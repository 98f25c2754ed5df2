import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { Host, type InstanceStats } from "../../host/index.ts";
import type { CallChannel } from "../../host/runtime/index.ts";
import { example, openHost, rejects, test, type TestHost } from "../helpers.ts";
import { AS_READER } from "../vault/guests.ts";

const CHANNELS: CallChannel[] = ["ring", "message"];

/** A call must answer; a lost wake-up would leave it pending forever, so a stuck one fails the test instead. */
function answers<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const stuck = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} never answered`)), 10_000)));
  return Promise.race([p, stuck]).finally(() => clearTimeout(timer));
}

// One host per channel serves the tests in the loop (one worker: every call crosses that channel).
const hosts = new Map<CallChannel, TestHost>();
test.before(async () => {
  for (const channel of CHANNELS) {
    const t = await openHost({ workers: 1, callChannel: channel });
    hosts.set(channel, t);
    for (const [service, file] of [["echo", "echo.as.ts"], ["counter", "counter.as.ts"], ["victim", "echo.as.ts"]] as const) {
      await t.host.deploy({ tenant: "a", service, source: example(file), language: "assemblyscript" });
    }
  }
});
test.after(async () => {
  for (const t of hosts.values()) await t.close();
});

for (const channel of CHANNELS) {
  // First in the loop, so the channel's own sequence numbers are still far below the vault's
  // change numbers: a channel that mixed the two up would refuse every later change as stale.
  test(`${channel} channel: a secret's changes reach the guest from its next call, however many changes came before its deploy`, async () => {
    const { host } = hosts.get(channel)!;
    for (let i = 0; i < 40; i++) await host.putSecret("s", "db", `v${i}`);
    await host.deploy({ tenant: "s", service: "reader", source: AS_READER, language: "assemblyscript", capabilities: ["secret:db"] });
    assert.is((await answers(host.call("s", "reader", "db"), "a read")).output, "value v39");
    await host.putSecret("s", "db", "rotated");
    assert.is((await answers(host.call("s", "reader", "db"), "a read")).output, "value rotated", "a rotation reaches the guest");
    await host.removeSecret("s", "db");
    assert.match((await answers(host.call("s", "reader", "db"), "a read")).output!, /^not-found: /, "a removal reaches the guest");
  });

  test(`${channel} channel: echo answers every request exactly, from empty and non-ASCII to over the ring's batch size, mixed in one burst`, async () => {
    const { host } = hosts.get(channel)!;
    const big = "é".repeat(300_000); // 600 KB of UTF-8: over RING_MAX_BATCH, so its batch goes by message
    const requests = ["", "hello", "héllo ☃ 𝄞", big, "x".repeat(4096), ...Array.from({ length: 300 }, (_, i) => `m${i}`)];
    // Without the big one first: on the ring channel this batch and its results cross in the ring itself.
    const small = requests.filter((r) => r !== big);
    const smallOut = await answers(Promise.all(small.map((r) => host.call("a", "echo", r))), "a burst of small requests");
    smallOut.forEach((o, i) => assert.is(o.output, small[i], `small request ${i}`));
    const outputs = await answers(Promise.all(requests.map((r) => host.call("a", "echo", r))), "a burst");
    outputs.forEach((o, i) => assert.is(o.output, requests[i], `request ${i}`));
  });

  test(`${channel} channel: one tenant's calls run in the order sent, whether their results cross plain or with kv writes and logs`, async () => {
    const { host } = hosts.get(channel)!;
    const counts: Promise<{ output: string }>[] = [];
    const echoes: Promise<{ output: string }>[] = [];
    for (let i = 0; i < 200; i++) {
      counts.push(host.call("a", "counter", "add"));
      echoes.push(host.call("a", "echo", `e${i}`));
    }
    const c = await answers(Promise.all(counts), "counter calls");
    const e = await answers(Promise.all(echoes), "echo calls");
    assert.equal(c.map((r) => r.output), Array.from({ length: 200 }, (_, i) => String(i + 1)));
    assert.equal(e.map((r) => r.output), Array.from({ length: 200 }, (_, i) => `e${i}`));
  });

  test(`${channel} channel: a worker left idle (its thread parked) answers the next call, however long the pause`, async () => {
    const { host } = hosts.get(channel)!;
    // Pauses around the worker's linger time (2 ms) and well past it: each call finds it waiting, parking or parked.
    const pauses = [0, 1, 2, 3, 5, 50, 0, 2, 4, 1, 3, 100, 2, 2, 1, 0, 5, 3];
    for (let i = 0; i < pauses.length * 3; i++) {
      await new Promise((r) => setTimeout(r, pauses[i % pauses.length]));
      const r = await answers(host.call("a", "echo", `after pause ${i}`), `call ${i}`);
      assert.is(r.output, `after pause ${i}`);
    }
  });

  test(`${channel} channel: a kill between calls takes its place: calls sent before it answer, calls after it get NOT_FOUND`, async () => {
    const { host } = hosts.get(channel)!;
    const before = Array.from({ length: 50 }, (_, i) => host.call("a", "victim", `b${i}`));
    const killed = host.kill("a", "victim");
    const after = rejects(host.call("a", "victim", "late"), "NOT_FOUND");
    const outs = await answers(Promise.all(before), "calls before the kill");
    assert.equal(outs.map((o) => o.output), Array.from({ length: 50 }, (_, i) => `b${i}`));
    await killed;
    await after;
  });
}

/** Calls made one at a time: 20 echoes (results on the ring), then a counter call (kv writes and a log: its result comes by message), 15 times over. */
async function loneCalls(host: Host): Promise<void> {
  const start = Number((await host.call("a", "counter", "add")).output);
  for (let round = 0; round < 15; round++) {
    for (let i = 0; i < 20; i++) assert.is((await answers(host.call("a", "echo", `lone ${round}.${i}`), `echo ${round}.${i}`)).output, `lone ${round}.${i}`);
    assert.is((await answers(host.call("a", "counter", "add"), `count ${round}`)).output, String(start + 1 + round), `count ${round}`);
  }
}

for (const channel of CHANNELS) {
  test(`${channel} channel: calls made one at a time each get their own answer, whether it crosses plain or (kv writes, logs) by message`, async () => {
    await loneCalls(hosts.get(channel)!.host);
  });
}

/** A one-worker ring host with echo and counter deployed, spinning up to `callSpinMs`. */
async function spinningHost(callSpinMs: number): Promise<TestHost> {
  const t = await openHost({ workers: 1, callChannel: "ring", callSpinMs });
  for (const [service, file] of [["echo", "echo.as.ts"], ["counter", "counter.as.ts"]] as const) {
    await t.host.deploy({ tenant: "a", service, source: example(file), language: "assemblyscript" });
  }
  return t;
}

test("ring channel, the API thread spinning as long as it may (callSpinMs 0.5): calls made one at a time each get their own answer, and the spin catches answers from the ring", async () => {
  const t = await spinningHost(0.5);
  try {
    const before = t.host.stats().spins;
    // Whether a given spin catches its answer depends on the machine's load (a worker descheduled
    // past the spin misses): this asserts that spinning happens and can catch, not how often.
    let now = before;
    const deadline = performance.now() + 20_000;
    do {
      await loneCalls(t.host);
      now = t.host.stats().spins;
    } while ((now.spun - before.spun < 100 || now.caught === before.caught) && performance.now() < deadline);
    assert.ok(now.spun - before.spun >= 100, `the API thread spun for only ${now.spun - before.spun} lone calls`);
    assert.ok(now.caught > before.caught, "no spin caught its answer");
  } finally {
    await t.close();
  }
});

test("ring channel with callSpinMs 0: calls made one at a time each get their own answer and neither side spins", async () => {
  const t = await spinningHost(0);
  try {
    await loneCalls(t.host);
    assert.equal(t.host.stats().spins, { spun: 0, caught: 0 });
  } finally {
    await t.close();
  }
});

test("Host.open refuses a callSpinMs that is not a number of milliseconds from 0 to 0.5 (INVALID_ARGUMENT naming the field)", async () => {
  for (const bad of [-1, 0.6, 1000, Number.NaN, "0.1"]) {
    const dir = mkdtempSync(join(tmpdir(), "solo-spin-"));
    try {
      const err = await rejects(Host.open({ dataDir: dir, callSpinMs: bad as number }), "INVALID_ARGUMENT");
      assert.is(err.details?.field, "callSpinMs");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("after a run of calls made one at a time (each side spinning for the other's answer), an idle host sleeps: it uses under a quarter of a core over the next second", async () => {
  const { host } = hosts.get("ring")!;
  for (let i = 0; i < 2000; i++) await host.call("a", "echo", "x");
  await new Promise((r) => setTimeout(r, 50)); // a worker spins at most 50 us, lingers 2 ms, then parks
  const before = process.cpuUsage();
  const wall = performance.now();
  await new Promise((r) => setTimeout(r, 1000));
  const used = process.cpuUsage(before);
  const share = (used.user + used.system) / 1000 / (performance.now() - wall);
  // A thread left spinning would use a whole core (share near 1, more with two hosts' workers).
  assert.ok(share < 0.25, `the idle process used ${(share * 100).toFixed(0)}% of a core`);
  assert.is((await host.call("a", "echo", "awake")).output, "awake");
});

test("with maxLiveInstances 1, two services called in turn are re-created on every call: each call answers its own request, and stats().instances counts the same on the ring channel as on the message channel", async () => {
  const seen = new Map<CallChannel, InstanceStats>();
  for (const channel of CHANNELS) {
    const t = await openHost({ workers: 1, callChannel: channel, maxLiveInstances: 1, idleMs: 0 });
    try {
      const { host } = t;
      // The first deploy makes an instance; the second (same artifact) makes none.
      for (const s of ["e0", "e1"]) await host.deploy({ tenant: "a", service: s, source: example("echo.as.ts"), language: "assemblyscript" });
      const call = (i: number, s: string) => host.call("a", s, `${s} ${i}`).then((r) => assert.is(r.output, `${s} ${i}`, `${channel}: call ${i} of ${s}`));
      // One at a time: e0 is live for the first, then each call evicts the other service.
      for (let i = 0; i < 20; i++) await answers(call(i, `e${i % 2}`), `call ${i}`);
      // In one burst: a batch's results carry its evictions (they cross by message in their place).
      await answers(Promise.all(Array.from({ length: 100 }, (_, i) => call(i, `e${i % 2}`))), "the alternating burst");
      // One service alone: one re-creation, then plain results (the ring's own batches on "ring").
      await answers(Promise.all(Array.from({ length: 30 }, (_, i) => call(i, "e0"))), "the burst of e0");
      seen.set(channel, host.stats().instances);
    } finally {
      await t.close();
    }
  }
  const expected: InstanceStats = { services: 2, live: 1, created: 1 + 19 + 100 + 1, evicted: 19 + 100 + 1, deploysWithoutStart: 1 };
  assert.equal(seen.get("message"), expected, "message channel");
  assert.equal(seen.get("ring"), expected, "ring channel");
});

test("Host.open refuses a callChannel other than message or ring (INVALID_ARGUMENT naming the field)", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  try {
    const e = await rejects(Host.open({ dataDir, callChannel: "rings" as CallChannel }), "INVALID_ARGUMENT");
    assert.is(e.details?.field, "callChannel");
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
