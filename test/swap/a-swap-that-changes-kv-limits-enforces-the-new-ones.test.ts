// A swap's `limits` are the new version's limits, kv limits included: the new version stores what
// its own limits allow, at once (not only after its worker happens to be replaced), and what the
// old limits allowed but the new ones do not is refused.
import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";

/** Stores the request under "v"; answers "stored:<bytes>" or "refused". */
const STORE = `import { kv } from "solo";
export function handle(request: string): string {
  return kv.set("v", request) ? "stored:" + request.length.toString() : "refused";
}
`;

test("raising kvMaxValueBytes in a swap lets the new version store bigger values at once", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "s", source: STORE, language: "assemblyscript", limits: { kvMaxValueBytes: 16 } });
    assert.is((await host.call("a", "s", "x".repeat(100))).output, "refused", "version 1: 16 bytes at most");
    await host.swap({ tenant: "a", service: "s", source: STORE.replace("stored:", "stored2:"), language: "assemblyscript", limits: { kvMaxValueBytes: 1024 }, rollbackWindowMs: 0 });
    assert.is(host.status("a", "s").limits.kvMaxValueBytes, 1024, "status says 1024");
    assert.is((await host.call("a", "s", "x".repeat(100))).output, "stored2:100", "version 2 may store 100 bytes");
  } finally {
    await t.close();
  }
});

test("lowering kvMaxValueBytes in a swap refuses what only the old limit allowed", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "s", source: STORE, language: "assemblyscript", limits: { kvMaxValueBytes: 1024 } });
    await host.swap({ tenant: "a", service: "s", source: STORE.replace("stored:", "stored2:"), language: "assemblyscript", limits: { kvMaxValueBytes: 16 }, rollbackWindowMs: 0 });
    assert.is((await host.call("a", "s", "x".repeat(100))).output, "refused", "version 2: 16 bytes at most");
  } finally {
    await t.close();
  }
});

test.run();
