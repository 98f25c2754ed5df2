import * as assert from "uvu/assert";
import { example, openHost, test } from "../helpers.ts";

test("echo answers with its request, including non-ASCII text", async () => {
  const t = await openHost();
  try {
    const d = await t.host.deploy({ tenant: "acme", service: "echo", source: example("echo.as.ts"), file: "echo.as.ts" });
    assert.is(d.language, "assemblyscript");
    assert.match(d.artifact, /^[0-9a-f]{64}$/);
    for (const input of ["hello", "", "héllo wörld ✓ 😀", "x".repeat(10_000)]) {
      const r = await t.host.call("acme", "echo", input);
      assert.is(r.output, input);
      assert.ok(r.fuel > 0, "a call uses fuel");
      assert.ok(r.memoryBytes >= 65536, "memory is reported in bytes");
    }
  } finally {
    await t.close();
  }
});

test("counter keeps its count in kv across calls and resets", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "acme", service: "counter", source: example("counter.as.ts"), file: "counter.as.ts" });
    assert.is((await t.host.call("acme", "counter", "")).output, "1");
    assert.is((await t.host.call("acme", "counter", "")).output, "2");
    assert.is((await t.host.call("acme", "counter", "")).output, "3");
    assert.is((await t.host.call("acme", "counter", "reset")).output, "0");
    assert.is((await t.host.call("acme", "counter", "")).output, "1");
    const s = t.host.status("acme", "counter");
    assert.is(s.calls, 5);
    assert.equal(s.interfaces, ["kv", "log"]);
  } finally {
    await t.close();
  }
});

test("guest logs reach the host's log sink", async () => {
  const lines: string[] = [];
  const t = await openHost({ onLog: (l) => lines.push(`${l.tenant}/${l.service} ${l.level} ${l.message}`) });
  try {
    await t.host.deploy({ tenant: "acme", service: "counter", source: example("counter.as.ts"), file: "counter.as.ts" });
    await t.host.call("acme", "counter", "");
    assert.equal(lines, ["acme/counter debug count is now 1"]);
  } finally {
    await t.close();
  }
});

test.run();
