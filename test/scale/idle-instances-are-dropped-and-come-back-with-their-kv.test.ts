import * as assert from "uvu/assert";
import type { Host } from "../../host/index.ts";
import { fixture, openHost, rejects, test } from "../helpers.ts";
import { COUNTER_AS, COUNTER_TS } from "./guests.ts";

/** Waits (up to 20 s: the machine may be loaded) until no instance is live; the count it saw last. */
async function untilNoneLive(host: Host): Promise<number> {
  const until = Date.now() + 20_000;
  let live = host.stats().instances.live;
  while (live > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
    live = host.stats().instances.live;
  }
  return live;
}

test("idle AssemblyScript and TypeScript instances are dropped, and their next call answers with the kv they had", async () => {
  const t = await openHost({ idleMs: 300, workers: 1 });
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "as", source: COUNTER_AS, language: "assemblyscript" });
    await host.deploy({ tenant: "a", service: "ts", source: COUNTER_TS, language: "typescript" });
    for (const s of ["as", "ts"]) {
      assert.is((await host.call("a", s, "set:kept")).output, "set");
      // (An instance may already be evicted between two calls on a loaded machine: the count is not asserted here.)
      assert.match((await host.call("a", s, "x")).output, / k=kept$/);
    }
    assert.is(await untilNoneLive(host), 0, "both instances were evicted");
    const after = host.stats().instances;
    assert.ok(after.evicted >= 2, `evicted ${after.evicted}`);
    assert.is(after.services, 2);
    for (const s of ["as", "ts"]) assert.is(host.status("a", s).memoryBytes, 0, `${s}: an evicted instance holds no memory`);
    assert.is(host.usage("a").quotas.memoryBytes.used, 0, "the tenant's memory counts live instances only");

    // A new instance (its count starts again), the same committed kv.
    for (const s of ["as", "ts"]) {
      const r = await host.call("a", s, "x");
      assert.is(r.output, "served 1 k=kept", s);
      assert.ok(r.memoryBytes > 0, `${s}: live again`);
    }
    assert.is(host.stats().instances.created - after.created, 2, "each call re-created one instance");
    // Writes after the re-creation are kept too (whether or not it was evicted again meanwhile).
    assert.is((await host.call("a", "ts", "set:new")).output, "set");
    assert.match((await host.call("a", "ts", "x")).output, / k=new$/);
  } finally {
    await t.close();
  }
});

test("past maxLiveInstances the least recently called instance goes; a replaced worker brings back only the live ones", async () => {
  const t = await openHost({ workers: 1, maxLiveInstances: 2, idleMs: 0, fairness: { isolatedWorkers: 0 } });
  try {
    const { host } = t;
    for (const s of ["a1", "a2", "a3", "a4"]) await host.deploy({ tenant: "a", service: s, source: COUNTER_AS, language: "assemblyscript" });
    await host.deploy({ tenant: "a", service: "spin", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 10_000_000_000, deadlineMs: 200 } });
    for (const s of ["a1", "a2", "a3", "a4"]) assert.is((await host.call("a", s, `set:${s}`)).output, "set");
    assert.is(host.stats().instances.live, 2);
    assert.equal(host.list("a").filter((s) => s.memoryBytes > 0).map((s) => s.service), ["a3", "a4"], "the two called last");
    // a1 comes back with its kv; a3 (now the least recently called) makes room.
    assert.is((await host.call("a", "a1", "x")).output, "served 1 k=a1");
    assert.equal(host.list("a").filter((s) => s.memoryBytes > 0).map((s) => s.service), ["a1", "a4"]);

    // The runaway call replaces the worker: its services are re-installed, only a1 and a4 (live as
    // the host last heard) with an instance; the others, the spinning one too, by their next call.
    const before = host.stats().instances.created;
    await rejects(host.call("a", "spin", ""), "DEADLINE_EXCEEDED");
    assert.is(host.stats().workerRestarts, 1);
    assert.is((await host.call("a", "a2", "x")).output, "served 1 k=a2");
    const after = host.stats().instances;
    // The new thread re-made a1 and a4, then a2's call made a2 (the dead thread's count of spin's instance is lost with it).
    assert.is(after.created - before, 3, `created ${after.created - before} since the runaway call`);
    assert.is(after.live, 2);
    for (const s of ["a1", "a3", "a4"]) assert.match((await host.call("a", s, "x")).output, new RegExp(` k=${s}$`));
  } finally {
    await t.close();
  }
});

test("idleMs and maxLiveInstances must be whole numbers, 0 or more", async () => {
  for (const options of [{ idleMs: -1 }, { idleMs: 1.5 }, { maxLiveInstances: -2 }]) {
    const e = await rejects(openHost(options), "INVALID_ARGUMENT");
    assert.is(e.details?.field, Object.keys(options)[0]);
    assert.match(e.message, /0 turns it off/);
  }
});

test.run();
