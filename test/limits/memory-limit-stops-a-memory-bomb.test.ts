import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

test("a memory bomb ends with MEMORY_LIMIT, the host's RSS stays bounded, others keep working", async () => {
  const t = await openHost();
  try {
    const limit = 16 * 1024 * 1024;
    await t.host.deploy({ tenant: "a", service: "bomb", source: fixture("bomb.as.ts"), language: "assemblyscript", limits: { memoryBytes: limit } });
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 5; i++) {
      const e = await rejects(t.host.call("a", "bomb", ""), "MEMORY_LIMIT");
      assert.match(e.message, /16777216/);
    }
    const grown = process.memoryUsage().rss - before;
    assert.ok(grown < 200 * 1024 * 1024, `RSS grew by ${grown} bytes over five bombs of a 16 MiB limit`);
    const s = t.host.status("a", "bomb");
    assert.ok(s.memoryBytes <= limit, `instance memory ${s.memoryBytes} stays within its limit`);
    assert.is(s.errors.MEMORY_LIMIT, 5);
    assert.is((await t.host.call("b", "echo", "fine")).output, "fine");
  } finally {
    await t.close();
  }
});

test("a module that starts with more memory than its limit is refused at deploy", async () => {
  const t = await openHost();
  try {
    await rejects(t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript", limits: { memoryBytes: 1000 } }), "MEMORY_LIMIT");
    assert.equal(t.host.list("a"), [], "nothing was registered");
  } finally {
    await t.close();
  }
});

test.run();
