import * as assert from "uvu/assert";
import { fixture, openHost, rejects, test } from "../helpers.ts";

test("fail() gives GUEST_ERROR with the message and the same instance answers next", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "moody", source: fixture("moody.as.ts"), language: "assemblyscript" });
    assert.is((await t.host.call("a", "moody", "hi")).output, "call 1");
    const e = await rejects(t.host.call("a", "moody", "fail"), "GUEST_ERROR");
    assert.is(e.message, "you asked me to fail");
    assert.is((await t.host.call("a", "moody", "hi")).output, "call 3", "the instance was kept: its call count goes on");
    assert.is(t.host.status("a", "moody").errors.GUEST_ERROR, 1);
  } finally {
    await t.close();
  }
});

test("a trap gives GUEST_TRAP with the guest's message and the instance is re-created", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "moody", source: fixture("moody.as.ts"), language: "assemblyscript" });
    assert.is((await t.host.call("a", "moody", "hi")).output, "call 1");
    assert.is((await t.host.call("a", "moody", "hi")).output, "call 2");
    const e = await rejects(t.host.call("a", "moody", "trap"), "GUEST_TRAP");
    assert.match(e.message, /boom/);
    assert.is((await t.host.call("a", "moody", "hi")).output, "call 1", "a fresh instance starts counting again");
  } finally {
    await t.close();
  }
});

test("unbounded recursion is a GUEST_TRAP (stack overflow), and the host goes on", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "deep", source: fixture("recurse.as.ts"), language: "assemblyscript" });
    const e = await rejects(t.host.call("a", "deep", ""), "GUEST_TRAP");
    assert.match(e.message, /stack overflow/);
    await rejects(t.host.call("a", "deep", ""), "GUEST_TRAP");
  } finally {
    await t.close();
  }
});

test.run();
