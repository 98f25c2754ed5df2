import * as assert from "uvu/assert";
import type { Host } from "../../host/index.ts";
import { openHost, rejects, test } from "../helpers.ts";
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

test("idleMs and maxLiveInstances must be whole numbers, 0 or more", async () => {
  for (const options of [{ idleMs: -1 }, { idleMs: 1.5 }, { maxLiveInstances: -2 }]) {
    const e = await rejects(openHost(options), "INVALID_ARGUMENT");
    assert.is(e.details?.field, Object.keys(options)[0]);
    assert.match(e.message, /0 turns it off/);
  }
});

test.run();
