import * as assert from "uvu/assert";
import { DEFAULT_GUEST_CAPABILITIES, resolveGuestCapabilities } from "../../host/capability/guest.ts";
import { example, openHost, rejects, test, throwsCode } from "../helpers.ts";
import { eventsOf } from "./guests.ts";

test("a list is sorted and de-duplicated and replaces the default; none given is the default", () => {
  assert.equal(resolveGuestCapabilities(undefined), [...DEFAULT_GUEST_CAPABILITIES].sort());
  assert.equal(resolveGuestCapabilities(["log", "clock", "random", "kv"]), ["clock", "kv", "log", "random"]);
  assert.equal(resolveGuestCapabilities([]), []);
  assert.equal(resolveGuestCapabilities(["kv"]), ["kv"]);
  assert.equal(resolveGuestCapabilities(["secret:db", "emit", "kv", "call:billing", "secret:db", "kv"]), ["call:billing", "emit", "kv", "secret:db"]);
});

test("unknown or malformed capabilities are INVALID_ARGUMENT naming the entry and the known forms", () => {
  const cases: [unknown, RegExp][] = [
    [["kv", "network"], /capability "network" is unknown or malformed/],
    [["secret:"], /capability "secret:" is unknown or malformed/],
    [["secret:DB"], /"secret:DB"/],
    [["call:a/b"], /"call:a\/b"/],
    [["KV"], /"KV"/],
    [[" kv"], /" kv"/],
    [["secrets"], /"secrets"/],
    [[`secret:${"x".repeat(64)}`], /is unknown or malformed/],
    [[7], /capability 7 is unknown or malformed/],
    [[null], /capability null is unknown or malformed/],
    ["kv", /must be a list of strings, got string/],
    [{ kv: true }, /must be a list of strings, got an object/],
    [null, /must be a list of strings, got null/],
    [Array.from({ length: 101 }, (_, i) => `secret:s${i}`), /at most 100 capabilities/],
  ];
  for (const [asked, message] of cases) {
    const e = throwsCode(() => resolveGuestCapabilities(asked), "INVALID_ARGUMENT");
    assert.match(e.message, message);
    assert.match(e.message, /capabilities are log, clock, random, kv, emit, secret:NAME, call:SERVICE/);
    assert.equal(e.details, { field: "capabilities" });
  }
});

test("a deploy with a bad capability fails before anything is built or stored", async () => {
  const t = await openHost();
  try {
    for (const capabilities of [["kv", "filesystem"], ["secret:Bad Name"], "kv" as unknown as string[]]) {
      const e = await rejects(t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript", capabilities }), "INVALID_ARGUMENT");
      assert.is(e.details?.field, "capabilities");
    }
    assert.equal(t.host.list("a"), [], "nothing deployed");
    await rejects(t.host.call("a", "echo", "x"), "NOT_FOUND");
    assert.equal(await eventsOf(t.host, "a", "service_deployed"), []);
    // The name is free: the same deploy with good capabilities works.
    const ok = await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript", capabilities: ["log", "log"] });
    assert.equal(ok.capabilities, ["log"]);
  } finally {
    await t.close();
  }
});

test.run();
