import * as assert from "uvu/assert";
import { example, openHost, test } from "../helpers.ts";

test("two services and two tenants with the same code keep separate counts", async () => {
  const t = await openHost();
  try {
    const source = example("counter.as.ts");
    for (const [tenant, service] of [["a", "c1"], ["a", "c2"], ["b", "c1"]] as const) {
      await t.host.deploy({ tenant, service, source, language: "assemblyscript" });
    }
    await t.host.call("a", "c1", "");
    await t.host.call("a", "c1", "");
    await t.host.call("a", "c1", "");
    await t.host.call("a", "c2", "");
    assert.is((await t.host.call("a", "c1", "")).output, "4");
    assert.is((await t.host.call("a", "c2", "")).output, "2");
    assert.is((await t.host.call("b", "c1", "")).output, "1");
  } finally {
    await t.close();
  }
});

test("a killed and redeployed service starts with an empty store", async () => {
  const t = await openHost();
  try {
    const source = example("counter.as.ts");
    await t.host.deploy({ tenant: "a", service: "c", source, language: "assemblyscript" });
    await t.host.call("a", "c", "");
    await t.host.call("a", "c", "");
    await t.host.kill("a", "c");
    await t.host.deploy({ tenant: "a", service: "c", source, language: "assemblyscript" });
    assert.is((await t.host.call("a", "c", "")).output, "1");
  } finally {
    await t.close();
  }
});

test.run();
