import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

test("an infinite JS loop ends with FUEL_EXHAUSTED and the host keeps serving", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.ts"), language: "typescript", limits: { fuel: 20_000_000 } });
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.ts"), language: "typescript" });
    await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
    assert.is((await t.host.call("b", "echo", "still here")).output, "still here");
    await rejects(t.host.call("a", "loop", ""), "FUEL_EXHAUSTED");
  } finally {
    await t.close();
  }
});

test("a JS memory bomb ends with MEMORY_LIMIT even though the guest catches its own out-of-memory error", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "bomb", source: fixture("bomb.ts"), language: "typescript", limits: { memoryBytes: 24 * 1024 * 1024, fuel: 2_000_000_000 } });
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.ts"), language: "typescript" });
    const before = process.memoryUsage().rss;
    const e = await rejects(t.host.call("a", "bomb", ""), "MEMORY_LIMIT");
    assert.match(e.message, /25165824/);
    assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024);
    assert.is((await t.host.call("b", "echo", "fine")).output, "fine");
  } finally {
    await t.close();
  }
});

test("a fresh JS instance reports the same fuel for the same call every time; 2N costs about twice N", async () => {
  const t = await openHost();
  try {
    const source = fixture("spin.ts");
    // Once its start has run here, each deploy of the source makes no instance: every round's
    // call makes its own, and pays the same start.
    await t.host.deploy({ tenant: "a", service: "proof", source, language: "typescript" });
    const fuels: number[] = [];
    for (let round = 0; round < 3; round++) {
      await t.host.deploy({ tenant: "a", service: "spin", source, language: "typescript" });
      fuels.push((await t.host.call("a", "spin", "20000")).fuel);
      await t.host.kill("a", "spin");
    }
    assert.equal(fuels, [fuels[0], fuels[0], fuels[0]]);
    await t.host.deploy({ tenant: "a", service: "n2", source, language: "typescript" });
    const n2 = (await t.host.call("a", "n2", "40000")).fuel;
    const ratio = n2 / fuels[0]!;
    assert.ok(ratio > 1.8 && ratio < 2.1, `fuel(2N) / fuel(N) = ${ratio}`);
  } finally {
    await t.close();
  }
});

test.run();
