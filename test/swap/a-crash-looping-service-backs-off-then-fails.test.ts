// Supervision: a trapped instance is re-created for the next call with its committed kv; a service
// that keeps trapping backs off (calls refused with a retry hint, the wait doubling), is marked
// failed after the limit with its last errors in status, and a swap brings it back.
import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";
import type { Host, SoloEvent } from "../../host/index.ts";
import { ALWAYS_TRAPS, labelled } from "./guests.ts";

async function typesOf(host: Host, tenant: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of host.events(tenant) as AsyncGenerator<SoloEvent>) out.push(e.type);
  return out;
}

test("crashes in a row back off, then mark the service failed; a swap clears it; other services never notice", async () => {
  const t = await openHost({ supervision: { crashesBeforeBackoff: 2, backoffBaseMs: 1500, backoffCapMs: 3000, crashLimit: 5 } });
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    await host.deploy({ tenant: "a", service: "other", source: labelled("o"), language: "assemblyscript" });
    assert.is((await host.call("a", "c", "x")).output, "v1:1");
    await host.swap({ tenant: "a", service: "c", source: ALWAYS_TRAPS, language: "assemblyscript", rollbackWindowMs: 0 });

    // Crashes 1 and 2 are re-created at once.
    await rejects(host.call("a", "c", "x"), "GUEST_TRAP");
    await rejects(host.call("a", "c", "x"), "GUEST_TRAP");
    // From now on it backs off: the next call is refused at once, with how long to wait.
    const wait = await rejects(host.call("a", "c", "x"), "UNAVAILABLE");
    assert.is(wait.details!.reason, "crash-loop");
    assert.ok((wait.details!.retryAfterMs as number) > 0 && (wait.details!.retryAfterMs as number) <= 1500);
    assert.is(host.status("a", "c").crashes?.consecutive, 2);
    // Waiting it out lets one more attempt through; each crash doubles the wait, up to the cap.
    const waits: number[] = [];
    for (let crash = 3; crash <= 5; crash++) {
      await new Promise((r) => setTimeout(r, (host.status("a", "c").crashes!.until - Date.now()) + 5));
      await rejects(host.call("a", "c", "x"), "GUEST_TRAP");
      const c = host.status("a", "c").crashes!;
      waits.push(c.until === 0 ? 0 : c.until - Date.parse(c.last[c.last.length - 1]!.at));
    }
    assert.equal(waits.slice(0, 2), [3000, 3000], "1500 ms doubled, then held at the 3000 ms cap");

    assert.is(waits[2], 3000);
    // The 5th crash in a row: failed, its last errors in status; calls answer UNAVAILABLE.
    const s = host.status("a", "c");
    assert.is(s.state, "failed");
    assert.is(s.failure?.code, "GUEST_TRAP");
    assert.match(s.failure!.message, /crashed 5 times in a row/);
    assert.is(s.crashes!.last.length, 5);
    assert.ok(s.crashes!.last.every((c) => c.code === "GUEST_TRAP"));
    const refused = await rejects(host.call("a", "c", "x"), "UNAVAILABLE");
    assert.match(refused.message, /swap in a new version/);
    // Its neighbour on the same worker never noticed.
    assert.is((await host.call("a", "other", "x")).output, "o:1");

    const types = await typesOf(host, "a");
    assert.is(types.filter((x) => x === "service_crashed").length, 5);
    assert.is(types.filter((x) => x === "service_failed").length, 1);
    assert.ok(!types.includes("service_restarted"), "no attempt came back");

    // A swap clears it: running again, no crash state, the committed count intact.
    await host.swap({ tenant: "a", service: "c", source: labelled("v3"), language: "assemblyscript", rollbackWindowMs: 0 });
    const after = host.status("a", "c");
    assert.is(after.state, "running");
    assert.is(after.failure, undefined);
    assert.is(after.crashes, undefined);
    assert.is((await host.call("a", "c", "x")).output, "v3:2");
  } finally {
    await t.close();
  }
});

test("a success between crashes resets the count; limits hit (fuel) are not crashes", async () => {
  const t = await openHost({ supervision: { crashesBeforeBackoff: 2, backoffBaseMs: 5000, crashLimit: 3 } });
  const restarts = async () => {
    let n = 0;
    for await (const e of t.host.events("a", { type: "service_restarted" })) n += e.data.crashes === 1 ? 1 : 0;
    return n;
  };
  try {
    const { host } = t;
    const source = `let n = 0;
export function handle(request: string): string {
  if (request == "trap") unreachable();
  if (request == "spin") { while (true) { n++; } }
  return "ok";
}
`;
    await host.deploy({ tenant: "a", service: "m", source, language: "assemblyscript", limits: { fuel: 100_000 } });
    for (let round = 0; round < 3; round++) {
      await rejects(host.call("a", "m", "trap"), "GUEST_TRAP");
      assert.is((await host.call("a", "m", "ok")).output, "ok");
    }
    // Recorded in the background, after the call answered.
    for (let i = 0; i < 200 && (await restarts()) < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.is(await restarts(), 3, "each time a re-created instance served again, after 1 crash");
    for (let i = 0; i < 6; i++) await rejects(host.call("a", "m", "spin"), "FUEL_EXHAUSTED");
    assert.is((await host.call("a", "m", "ok")).output, "ok");
    assert.is(host.status("a", "m").state, "running");
    assert.is(host.status("a", "m").crashes, undefined);
  } finally {
    await t.close();
  }
});

test.run();
