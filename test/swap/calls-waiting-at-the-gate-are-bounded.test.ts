// Calls that arrive while a service switches versions wait at its gate; they count against the
// tenant's queuedCalls quota like calls in flight, so a client cannot pile up unbounded waiting
// calls behind a slow migrate. And a replace with a bad capability is refused before the kill.
import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";
import type { SoloError } from "../../host/index.ts";
import { labelled } from "./guests.ts";

/** Version 2: its migrate works a while (hundreds of ms, within its fuel), so the gate stays closed. */
const SLOW_MIGRATE = labelled("v2") + `
export function migrate(fromVersion: u32): string | null {
  let x: u64 = 0;
  for (let i: u64 = 0; i < 15_000_000; i++) x += i ^ (x >> 3);
  kv.set("x", x.toString());
  return null;
}
`;

test("calls past queuedCalls while the gate is closed are refused at once; the others run on the new version", async () => {
  // Admission off: on a loaded machine it may refuse a burst as overloaded before the gate's
  // quota is reached, and this test is about the gate's own bound.
  const t = await openHost({ admission: { enabled: false } });
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    await host.validate({ source: SLOW_MIGRATE, language: "assemblyscript" });
    await host.setQuotas("a", { queuedCalls: 3 });
    const swapping = host.swap({ tenant: "a", service: "c", source: SLOW_MIGRATE, language: "assemblyscript", rollbackWindowMs: 0 });
    const results: Promise<{ output?: string; error?: SoloError }>[] = [];
    let done = false;
    swapping.then(() => (done = true), () => (done = true));
    while (!done) {
      results.push(host.call("a", "c", "x").then((r) => ({ output: r.output }), (e: SoloError) => ({ error: e })));
      await new Promise((r) => setTimeout(r, 2));
    }
    await swapping;
    const all = await Promise.all(results);
    const refused = all.filter((r) => r.error);
    for (const r of refused) assert.is(r.error!.code, "RESOURCE_EXHAUSTED", r.error!.message);
    assert.ok(refused.some((r) => /switching versions/.test(r.error!.message) && r.error!.details?.quota === "queuedCalls"), "some calls were refused at the gate");
    // Every call that was let through was answered by one of the two versions, none failed otherwise.
    for (const r of all.filter((x) => x.output !== undefined)) assert.match(r.output!, /^v[12]:\d+$/);
    assert.is((await host.call("a", "c", "x")).output.slice(0, 3), "v2:");
  } finally {
    await t.close();
  }
});

test("a replace whose capabilities or tags are bad is refused before anything is killed", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    await host.call("a", "c", "x");
    await rejects(host.replace({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", capabilities: ["files"] }), "INVALID_ARGUMENT");
    await rejects(host.replace({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", tags: ["Not A Tag"] }), "INVALID_ARGUMENT");
    assert.is((await host.call("a", "c", "x")).output, "v1:2", "version 1 still serves with its kv");
  } finally {
    await t.close();
  }
});

test.run();
