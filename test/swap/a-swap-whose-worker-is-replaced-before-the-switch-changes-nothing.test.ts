// A swap whose worker is replaced before the switch (here: another service's runaway call on the
// same worker is stopped at its deadline while the new version waits to be prepared) loses the
// prepared instance. Before the batch that makes the new version current, that must fail the swap
// (UNAVAILABLE, docs/ARCHITECTURE.md "Hot swap") or re-run the checks; it must never switch to a
// version whose start code and health check never ran.
import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";
import { ABI, component } from "../abuse/hostile.ts";
import { SoloError, type Host } from "../../host/index.ts";
import { labelled, UNHEALTHY } from "./guests.ts";

// Spins for its fuel slowly, so its deadline ends it (test/abuse/a-replaced-worker-...).
const SPIN = `(module (memory (export "memory") 1) ${ABI}
  (func (export "handle") (param i32 i32) (result i32)
    (loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 256)) (br $l)) (i32.const 16)))`;
const HOT = { fuel: 10_000_000_000, deadlineMs: 1_500 };

/** Its start code traps once the service's kv holds a count (so it starts fine in a fresh tenant). */
const START_TRAPS_ON_KV = labelled("s").replace(`export function handle`, `if (kv.get("count") !== null) unreachable();
export function handle`);

/** Deploys `source` elsewhere first, so the swap's build is a cache hit and takes milliseconds. */
async function warm(host: Host, source: string): Promise<void> {
  await host.deploy({ tenant: "warm", service: `w${Math.floor(Math.random() * 1e9)}`, source, language: "assemblyscript" });
}

async function swapBehindARunaway(host: Host, source: string): Promise<unknown> {
  const runaway = rejects(host.call("a", "spin", ""), "DEADLINE_EXCEEDED");
  const swap = host.swap({ tenant: "a", service: "c", source, language: "assemblyscript", rollbackWindowMs: 0 }).then((r) => r, (e: unknown) => e);
  await runaway;
  return swap;
}

for (const [name, source, why] of [
  ["health export fails", UNHEALTHY, "its health check"],
  ["start code traps on the service's kv", START_TRAPS_ON_KV, "its start code"],
] as const) {
  test(`a new version whose ${name} is not switched to when the worker is replaced during the swap`, async () => {
    const t = await openHost({ workers: 1 });
    try {
      const { host } = t;
      await host.deploy({ tenant: "a", service: "spin", source: await component(SPIN), language: "component", limits: HOT });
      await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
      assert.is((await host.call("a", "c", "x")).output, "v1:1");
      await warm(host, source);

      const outcome = await swapBehindARunaway(host, source);
      assert.ok(host.stats().workerRestarts >= 1, "the worker was replaced");
      const s = host.status("a", "c");
      assert.ok(outcome instanceof SoloError, `the swap must fail (${why} never ran); it answered ${JSON.stringify(outcome)} and the service is ${s.state} at version ${s.version}${s.failure ? `: ${s.failure.message}` : ""}`);
      assert.is(s.version, 1);
      assert.is(s.state, "running");
      assert.is((await host.call("a", "c", "x")).output, "v1:2");
    } finally {
      await t.close();
    }
  });
}

test.run();
