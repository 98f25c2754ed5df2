import * as assert from "uvu/assert";
import { fixture, openHost, test } from "../helpers.ts";

test("past its kv quota a guest's set answers limit-exceeded (a WIT error, not a trap); the call's writes still commit", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "hoard", source: fixture("hoarder.as.ts"), language: "assemblyscript", limits: { kvMaxBytes: 8 * 1024 } });
    const r = await t.host.call("a", "hoard", "");
    const [count, ...rest] = r.output.split(" ");
    assert.is(Number(count), 7, "seven 1 KiB entries (plus keys) fit in 8 KiB");
    assert.match(rest.join(" "), /^limit-exceeded: kv store would hold \d+ bytes; the service's limit is 8192$/);
    // The seven entries were committed: a second call rewrites them in place (no growth) and is
    // refused at the same eighth key.
    assert.match((await t.host.call("a", "hoard", "")).output, /^7 limit-exceeded/);
  } finally {
    await t.close();
  }
});

test("a key longer than its limit answers invalid", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "hoard", source: fixture("hoarder.as.ts"), language: "assemblyscript", limits: { kvMaxKeyBytes: 1 } });
    assert.match((await t.host.call("a", "hoard", "")).output, /^0 invalid: kv key is 2 bytes of UTF-8; a key must be 1\.\.1 bytes \(limits\.kvMaxKeyBytes\)$/);
  } finally {
    await t.close();
  }
});

test.run();
