// A version that exports migrate(fromVersion) has it run once, on the new instance, before the
// switch: its kv writes are committed with the switch and every later call sees them. A rollback
// runs no migrate (the kv stays as the newer version left it).
import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";
import { labelled, migrating } from "./guests.ts";

test("migrate gets the version it replaces, runs once, and its writes are the service's from the switch on", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
    assert.is((await host.call("a", "c", "x")).output, "v1:1");
    await host.swap({ tenant: "a", service: "c", source: migrating("v2"), language: "assemblyscript", rollbackWindowMs: 0 });
    assert.is((await host.call("a", "c", "x")).output, "v2:2:1", "migrate(1) ran and the count carried on");
    assert.is((await host.call("a", "c", "x")).output, "v2:3:1", "once");
    await host.swap({ tenant: "a", service: "c", source: migrating("v3"), language: "assemblyscript", rollbackWindowMs: 0 });
    assert.is((await host.call("a", "c", "x")).output, "v3:4:2");
    await host.rollback("a", "c");
    assert.is((await host.call("a", "c", "x")).output, "v2:5:2", "a rollback runs no migrate");
  } finally {
    await t.close();
  }
});

test("a TypeScript version's migrate runs the same way", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    const v1 = `import { kv } from "solo";
export function handle(request: string): string {
  const n = Number(kv.get("n") ?? "0") + 1;
  kv.set("n", String(n));
  return "v1:" + n;
}
`;
    const v2 = `import { kv } from "solo";
export function handle(request: string): string {
  const n = Number(kv.get("n") ?? "0") + 1;
  kv.set("n", String(n));
  return "v2:" + n + ":" + kv.get("from");
}
export function migrate(fromVersion: number): void {
  if (kv.get("n") === undefined) throw new Error("nothing to migrate");
  kv.set("from", String(fromVersion));
}
`;
    await host.deploy({ tenant: "a", service: "t", source: v1, language: "typescript" });
    assert.is((await host.call("a", "t", "x")).output, "v1:1");
    await host.swap({ tenant: "a", service: "t", source: v2, language: "typescript", rollbackWindowMs: 0 });
    assert.is((await host.call("a", "t", "x")).output, "v2:2:1");
  } finally {
    await t.close();
  }
});

test.run();
