import * as assert from "uvu/assert";
import { fixture, openHost, test } from "../helpers.ts";

test("a fresh instance reports the same fuel for the same call, every time", async () => {
  const t = await openHost();
  try {
    const source = fixture("spin.as.ts");
    // Once its start has run here, each deploy of the source makes no instance: every call below
    // makes its own, and pays the same start.
    await t.host.deploy({ tenant: "a", service: "proof", source, language: "assemblyscript" });
    const fuels: number[] = [];
    for (let round = 0; round < 3; round++) {
      await t.host.deploy({ tenant: "a", service: "spin", source, language: "assemblyscript" });
      const r = await t.host.call("a", "spin", "5000");
      fuels.push(r.fuel);
      await t.host.kill("a", "spin");
    }
    // And on another tenant, so on another worker thread.
    await t.host.deploy({ tenant: "b", service: "spin", source, language: "assemblyscript" });
    fuels.push((await t.host.call("b", "spin", "5000")).fuel);
    assert.ok(fuels[0]! > 5000);
    assert.equal(fuels, [fuels[0], fuels[0], fuels[0], fuels[0]]);
  } finally {
    await t.close();
  }
});

test("a loop of 2N iterations costs about twice a loop of N", async () => {
  const t = await openHost();
  try {
    const source = fixture("spin.as.ts");
    await t.host.deploy({ tenant: "a", service: "n", source, language: "assemblyscript" });
    await t.host.deploy({ tenant: "a", service: "n2", source, language: "assemblyscript" });
    const n = (await t.host.call("a", "n", "20000")).fuel;
    const n2 = (await t.host.call("a", "n2", "40000")).fuel;
    const ratio = n2 / n;
    assert.ok(ratio > 1.9 && ratio < 2.05, `fuel(2N) / fuel(N) = ${ratio}`);
  } finally {
    await t.close();
  }
});

test.run();
