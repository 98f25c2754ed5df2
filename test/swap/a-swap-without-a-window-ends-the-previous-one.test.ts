// A swap replaces the rollback window of the swap before it: a window watches only the version
// it was opened for, and rolls back only to the version that one replaced. A later swap with
// rollbackWindowMs 0 asks for no watch at all, so nothing may roll its version back by itself.
import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";
import { labelled, ALWAYS_TRAPS } from "./guests.ts";

test("after v1 -> v2 (window) -> v3 (no window), v3's traps never roll the service back to v1", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    await host.swap({ tenant: "a", service: "c", source: labelled("v2"), language: "assemblyscript", rollbackWindowMs: 60_000 });
    assert.is(host.status("a", "c").rollbackWindow?.previousVersion, 1);
    const v3 = await host.swap({ tenant: "a", service: "c", source: ALWAYS_TRAPS, language: "assemblyscript", rollbackWindowMs: 0 });
    assert.is(v3.version, 3);
    const window = host.status("a", "c").rollbackWindow;
    await rejects(host.call("a", "c", "x"), "GUEST_TRAP");
    // An automatic rollback would be under way now; give it time to land (it takes a few ms).
    await new Promise((r) => setTimeout(r, 500));
    const s = host.status("a", "c");
    assert.is(s.version, 3, `no window was asked for: version 3 stays current (now ${s.version}, previous ${s.previousVersion})`);
    assert.is(v3.rollbackUntil, undefined, "the swap asked for no window");
    assert.is(window, undefined, "status shows no window open for version 3");
  } finally {
    await t.close();
  }
});

test.run();
