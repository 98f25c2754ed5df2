// An automatic rollback can fail too (here: the previous version's start code refuses the kv the
// new version wrote). The agent must be able to see that: an event says Solo tried and why it
// failed, instead of the window silently closing over a version it had judged bad.
import * as assert from "uvu/assert";
import type { Host, SoloEvent } from "../../host/index.ts";
import { openHost, rejects, test } from "../helpers.ts";
import { labelled } from "./guests.ts";

/** Version 1's start code traps once kv holds "poison". */
const V1 = labelled("v1").replace("export function handle", `if (kv.get("poison") !== null) unreachable();\nexport function handle`);
/** Version 2 writes "poison" on "set" and traps on "trap". */
const V2 = `import { kv } from "solo";
export function handle(request: string): string {
  if (request == "trap") unreachable();
  kv.set("poison", "1");
  return "v2";
}
`;

async function swapEvents(host: Host): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of host.events("a")) if (e.type.startsWith("hot_swap")) out.push(e);
  return out;
}

test("a failed automatic rollback leaves an event saying it failed, with the code", async () => {
  const t = await openHost({ workers: 1 });
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: V1, language: "assemblyscript" });
    await host.swap({ tenant: "a", service: "c", source: V2, language: "assemblyscript", maxFailureRate: 0 });
    assert.is((await host.call("a", "c", "set")).output, "v2");
    await rejects(host.call("a", "c", "trap"), "GUEST_TRAP");
    // The rollback is tried in the background; wait until it has ended one way or the other.
    for (let i = 0; i < 100 && (await swapEvents(host)).length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    const events = await swapEvents(host);
    const s = host.status("a", "c");
    assert.is(s.version, 2, "the rollback could not happen");
    assert.equal(events.slice(0, 2).map((e) => e.type), ["hot_swap_started", "hot_swap_succeeded"]);
    const after = events.slice(2);
    assert.ok(after.length > 0, `an event records the failed automatic rollback (events: ${events.map((e) => e.type).join(", ")}; status window ${JSON.stringify(s.rollbackWindow)})`);
    assert.is(after[0]!.data.code, "GUEST_TRAP");
  } finally {
    await t.close();
  }
});

test.run();
