import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";
import { AS_GUEST, eventsOf } from "./guests.ts";

test("secret:db answers unavailable for db and access-denied for any other secret; call:SERVICE and emit are checked the same way", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "g", source: AS_GUEST, language: "assemblyscript", capabilities: ["secret:db", "call:billing", "emit"] });
    await t.host.deploy({ tenant: "a", service: "plain", source: AS_GUEST, language: "assemblyscript" });
    const ask = async (service: string, request: string) => (await t.host.call("a", service, request)).output;

    assert.is(await ask("g", "secret:db"), "unavailable: secrets are not available on this host yet");
    assert.is(await ask("g", "secret:api-key"), 'access-denied: secret "api-key" is not granted to this service; deploy it with capability "secret:api-key"');
    // Granted: the call is made (no such service here) and the emit recorded.
    assert.match(await ask("g", "call:billing"), /^not-found: service billing is not running in tenant a/);
    assert.is(await ask("g", "call:users"), 'access-denied: calling service "users" is not granted to this service; deploy it with capability "call:users"');
    assert.is(await ask("g", "emit"), "emitted");
    // The default set grants none of them.
    assert.is(await ask("plain", "secret:db"), 'access-denied: secret "db" is not granted to this service; deploy it with capability "secret:db"');
    assert.is(await ask("plain", "emit"), 'access-denied: emit is not granted to this service; deploy it with capability "emit"');
    // A name no capability could grant is invalid, not a denial.
    assert.match(await ask("g", "secret:Not A Name"), /^invalid: secret name "Not A Name" is malformed/);
    assert.match(await ask("g", "call:"), /^invalid: service name "" is malformed/);

    const denied = await eventsOf(t.host, "a", "capability_denied");
    assert.equal(denied.map((e) => `${e.service} ${String(e.data.import)} ${String(e.data.capability)}`), [
      "g secrets.get(api-key) secret:api-key",
      "g services.call(users) call:users",
      "plain secrets.get(db) secret:db",
      "plain events.emit emit",
    ]);
  } finally {
    await t.close();
  }
});

test.run();
