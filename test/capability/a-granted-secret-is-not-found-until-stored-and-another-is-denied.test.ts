import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";
import { AS_GUEST, eventsOf } from "./guests.ts";

test("secret:db answers not-found for db until it is stored, and access-denied for any other secret; call:SERVICE and emit are checked the same way", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "g", source: AS_GUEST, language: "assemblyscript", capabilities: ["secret:db", "call:billing", "emit"] });
    await t.host.deploy({ tenant: "a", service: "plain", source: AS_GUEST, language: "assemblyscript" });
    const ask = async (service: string, request: string) => (await t.host.call("a", service, request)).output;

    assert.is(await ask("g", "secret:db"), "not-found: secret \"db\" is not stored for tenant a; store it (solo secret put a db)");
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
      "g services.call(users) call:users",
      "plain events.emit emit",
    ]);
    // A secret asked for without its capability has its own event type, naming the secret.
    const secretDenied = await eventsOf(t.host, "a", "secret_access_denied");
    assert.equal(secretDenied.map((e) => `${e.service} ${String(e.data.name)} ${String(e.data.import)} ${String(e.data.capability)}`), [
      "g api-key secrets.get(api-key) secret:api-key",
      "plain db secrets.get(db) secret:db",
    ]);
  } finally {
    await t.close();
  }
});

test.run();
