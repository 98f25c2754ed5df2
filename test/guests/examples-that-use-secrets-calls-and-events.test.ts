// The examples that use the vault, calls between services and guest events answer as their
// comments say, in TypeScript and AssemblyScript.
import * as assert from "uvu/assert";
import { example, openHost, rejects, test } from "../helpers.ts";

test("greeter (TypeScript and AssemblyScript) greets with the vault's phrase, and says what to do without it", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "acme", service: "greeter", source: example("greeter.ts"), file: "greeter.ts", capabilities: ["secret:greeting"] });
    await host.deploy({ tenant: "acme", service: "greeter-as", source: example("greeter.as.ts"), file: "greeter.as.ts", capabilities: ["secret:greeting"] });
    for (const s of ["greeter", "greeter-as"]) {
      const e = await rejects(host.call("acme", s, "Ada"), "GUEST_ERROR");
      assert.match(e.message, /no greeting yet \(not-found: .*\); store the secret "greeting"/);
    }
    await host.putSecret("acme", "greeting", "Good morning");
    assert.is((await host.call("acme", "greeter", "Ada")).output, "Good morning, Ada!");
    assert.is((await host.call("acme", "greeter-as", "")).output, "Good morning, stranger!");
    await host.putSecret("acme", "greeting", "Hello");
    assert.is((await host.call("acme", "greeter", "Ada")).output, "Hello, Ada!", "a new value, no redeploy");
  } finally {
    await t.close();
  }
});

test("front keeps its own state, asks counter for the total, and records a guest event per visit", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    await host.deploy({ tenant: "acme", service: "counter", source: example("counter.ts"), file: "counter.ts" });
    await host.deploy({ tenant: "acme", service: "front", source: example("front.ts"), file: "front.ts", capabilities: ["log", "kv", "call:counter", "emit"] });
    assert.is((await host.call("acme", "front", "ada")).output, "ada has visited 1 time(s); 1 visit(s) in all");
    assert.is((await host.call("acme", "front", "bob")).output, "bob has visited 1 time(s); 2 visit(s) in all");
    assert.is((await host.call("acme", "front", "ada")).output, "ada has visited 2 time(s); 3 visit(s) in all");
    assert.is((await host.call("acme", "counter", "")).output, "4", "counter's own state moved with each call");
    const visits: unknown[] = [];
    for await (const e of host.events("acme", { type: "guest_event" })) visits.push(JSON.parse(String(e.data.data)));
    assert.equal(visits, [{ visitor: "ada", visits: 1, total: 1 }, { visitor: "bob", visits: 1, total: 2 }, { visitor: "ada", visits: 2, total: 3 }]);
  } finally {
    await t.close();
  }
});

test.run();
