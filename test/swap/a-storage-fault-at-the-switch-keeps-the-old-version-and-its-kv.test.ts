// A storage fault at the one batch that makes a new version current (step 5 of swap.ts): the
// swap fails, the old version keeps serving with its committed kv, and what migrate wrote into
// the worker's copy does not leak into it, now or after a restart.
import * as assert from "uvu/assert";
import { Host, SoloError } from "../../host/index.ts";
import { openHost, TEST_CACHE, test } from "../helpers.ts";
import { migrating } from "./guests.ts";

// A health export that takes a while, so the fault is in place well before the switch's batch.
const SLOW_HEALTH = `
export function health(): string | null {
  let n: i64 = 0;
  for (let i: i64 = 0; i < 300_000_000; i++) n += i;
  return n == 42 ? "never" : null;
}
`;

test("the switch batch fails: swap fails, version 1 serves with its kv, migrate's write is gone (also after a restart)", async () => {
  const t = await openHost({ workers: 1 });
  let host: Host = t.host;
  try {
    await host.deploy({ tenant: "a", service: "c", source: migrating("A"), language: "assemblyscript" });
    assert.is((await host.call("a", "c", "x")).output, "A:1:-");
    const source = migrating("B") + SLOW_HEALTH;
    await host.deploy({ tenant: "warm", service: "w", source, language: "assemblyscript" });

    // Once hot_swap_started is durable, the next write is the switch batch: fail it.
    const sub = host.subscribe("a", { type: "hot_swap_started" });
    const armed = (async () => {
      for await (const _e of sub) {
        await host.injectStorageFaults({ ops: ["write"], next: 1 });
        return;
      }
    })();
    const outcome = await host.swap({ tenant: "a", service: "c", source, language: "assemblyscript", limits: { fuel: 10_000_000_000 }, rollbackWindowMs: 0 }).then((r) => r, (e: unknown) => e);
    await armed;
    sub.close();
    assert.ok(outcome instanceof SoloError, `the swap fails: ${JSON.stringify(outcome)}`);
    assert.match(outcome.message, /injected fault/, "it failed at the batch");
    const s = host.status("a", "c");
    assert.equal([s.version, s.state], [1, "running"]);
    assert.is(host.versions("a", "c").length, 1);
    assert.is((await host.call("a", "c", "x")).output, "A:2:-", "migrate's write did not leak into version 1's kv");
    await host.close();

    host = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 1 });
    assert.is(host.status("a", "c").version, 1);
    assert.is((await host.call("a", "c", "x")).output, "A:3:-");
  } finally {
    await host.close().catch(() => {});
    await t.close().catch(() => {});
  }
});

test.run();
