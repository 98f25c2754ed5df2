import * as assert from "uvu/assert";
import { example, openHost, rejects, throwsCode, test } from "../helpers.ts";

test("tenant B cannot see, call, inspect or kill tenant A's service: NOT_FOUND as if absent", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "alice", service: "secret-svc", source: example("counter.as.ts"), language: "assemblyscript" });
    assert.is((await t.host.call("alice", "secret-svc", "")).output, "1");

    assert.equal(t.host.list("bob"), []);
    const absent = await rejects(t.host.call("bob", "never-deployed", ""), "NOT_FOUND");
    const hidden = await rejects(t.host.call("bob", "secret-svc", ""), "NOT_FOUND");
    assert.is(hidden.message.replace("secret-svc", "X"), absent.message.replace("never-deployed", "X"), "the same answer as for a missing service");
    throwsCode(() => t.host.status("bob", "secret-svc"), "NOT_FOUND");
    await rejects(t.host.kill("bob", "secret-svc"), "NOT_FOUND");

    // Bob may use the same name for his own service; it is a different service.
    await t.host.deploy({ tenant: "bob", service: "secret-svc", source: example("counter.as.ts"), language: "assemblyscript" });
    assert.is((await t.host.call("bob", "secret-svc", "")).output, "1");
    assert.is((await t.host.call("alice", "secret-svc", "")).output, "2", "alice's state is untouched");
    assert.is(t.host.list("alice").length, 1);
  } finally {
    await t.close();
  }
});

test.run();
