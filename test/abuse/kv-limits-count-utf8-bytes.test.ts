import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, fixture, openHost, test } from "../helpers.ts";

const MiB = 1024 * 1024;
const deploy = (host: Host, limits: Record<string, number>) =>
  host.deploy({ tenant: "a", service: "kv", source: fixture("kv-bytes.as.ts"), language: "assemblyscript", limits });

test("a value of 400k three-byte characters (1.2 MB of UTF-8) is over a 1 MiB kvMaxValueBytes", async () => {
  const t = await openHost();
  try {
    await deploy(t.host, { kvMaxValueBytes: MiB, kvMaxBytes: 4 * MiB });
    const r = (await t.host.call("a", "kv", "euros v 400000")).output;
    assert.match(r, /^limit-exceeded: /);
    assert.match(r, /1200000 bytes/, "the message names the value's size in bytes");
    assert.match(r, /the limit is 1048576 \(limits\.kvMaxValueBytes\)/, "and the limit");
    // 300k of them (900 KB) fit; nothing of the refused value was kept.
    assert.is((await t.host.call("a", "kv", "euros v 300000")).output, "ok");
    assert.is((await t.host.call("a", "kv", "list")).output, "v=300000");
  } finally {
    await t.close();
  }
});

test("a key is measured in UTF-8 bytes: 200 euro signs are 600 bytes, over a 512-byte kvMaxKeyBytes", async () => {
  const t = await openHost();
  try {
    await deploy(t.host, { kvMaxKeyBytes: 512 });
    const r = (await t.host.call("a", "kv", "euro-key 200")).output;
    assert.match(r, /^invalid: kv key is 600 bytes of UTF-8; a key must be 1\.\.512 bytes \(limits\.kvMaxKeyBytes\)$/);
    assert.is((await t.host.call("a", "kv", "euro-key 170")).output, "ok", "510 bytes fit");
  } finally {
    await t.close();
  }
});

test("the kv quota counts UTF-8 bytes, also for the state a restarted host loads from disk", async () => {
  const t = await openHost();
  let reopened: Host | undefined;
  try {
    await deploy(t.host, { kvMaxBytes: MiB, kvMaxValueBytes: MiB });
    // Key "a" (1 byte) + 300k euro signs (900,000 bytes).
    assert.is((await t.host.call("a", "kv", "euros a 300000")).output, "ok");
    await t.host.close();
    reopened = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    // 900,001 loaded + 1 + 180,000 = 1,080,002 bytes: over 1 MiB, though only 360,002 UTF-16 units.
    const r = (await reopened.call("a", "kv", "euros b 60000")).output;
    assert.match(r, /^limit-exceeded: kv store would hold 1080002 bytes; the service's limit is 1048576$/);
    assert.is((await reopened.call("a", "kv", "euros b 49000")).output, "ok", "1,047,002 bytes fit");
    assert.is((await reopened.call("a", "kv", "list")).output, "a=300000,b=49000");
  } finally {
    await reopened?.close();
    await t.close(); // its host is closed already (close is idempotent); this removes the directory
  }
});

test("strings that are not well-formed UTF-16 are invalid as keys, values and prefixes, so two keys never merge on disk", async () => {
  const t = await openHost();
  let reopened: Host | undefined;
  try {
    await deploy(t.host, {});
    // Two different lone surrogates: as UTF-8 both would become "k\uFFFD", one key on disk.
    for (const unit of ["d800", "dbff"]) {
      assert.match((await t.host.call("a", "kv", `lone-key ${unit}`)).output, /^invalid: kv key is not well-formed UTF-16 \(a lone surrogate\)/);
      assert.match((await t.host.call("a", "kv", `long-lone-key ${unit}`)).output, /^invalid: kv key is not well-formed UTF-16 \(a lone surrogate\)/);
    }
    assert.match((await t.host.call("a", "kv", "lone-value")).output, /^invalid: kv value is not well-formed UTF-16/);
    assert.match((await t.host.call("a", "kv", "lone-get")).output, /^invalid: kv key is not well-formed UTF-16/);
    assert.match((await t.host.call("a", "kv", "lone-prefix")).output, /^invalid: kv prefix is not well-formed UTF-16/);
    assert.is((await t.host.call("a", "kv", "euros k 1")).output, "ok");
    await t.host.close();
    reopened = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    assert.is((await reopened.call("a", "kv", "list")).output, "k=1", "only the well-formed key reached the disk");
  } finally {
    await reopened?.close();
    await t.close();
  }
});

test.run();
