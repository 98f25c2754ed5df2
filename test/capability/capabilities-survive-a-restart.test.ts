import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { Storage, serviceKey } from "../../host/storage/index.ts";
import { TEST_CACHE, rejects, test } from "../helpers.ts";
import { AS_GUEST, eventsOf, KV_DENIED } from "./guests.ts";

test("capabilities survive a restart: status shows them, kv is still denied; an old record without them gets the default; a bad stored list fails that service alone", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-caps-restart-"));
  try {
    const first = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    await first.deploy({ tenant: "a", service: "nokv", source: AS_GUEST, language: "assemblyscript", capabilities: ["log", "secret:db"] });
    await first.deploy({ tenant: "a", service: "old", source: AS_GUEST, language: "assemblyscript", capabilities: [] });
    await first.deploy({ tenant: "a", service: "tampered", source: AS_GUEST, language: "assemblyscript" });
    assert.is((await first.call("a", "nokv", "kv")).output, KV_DENIED);
    await first.close();

    // A record from before capabilities existed, and one whose list was altered on disk.
    const storage = await Storage.open(join(dataDir, "db"));
    const read = async (service: string) => JSON.parse(Buffer.from((await storage.recordBytes(serviceKey("a", service)))!).toString("utf8")) as Record<string, unknown>;
    const old = await read("old");
    assert.equal(old.capabilities, [], "the record holds the list");
    delete old.capabilities;
    const tampered = { ...(await read("tampered")), capabilities: ["kv", "network"] };
    await storage.write({ records: [[serviceKey("a", "old"), JSON.stringify(old)], [serviceKey("a", "tampered"), JSON.stringify(tampered)]] });
    await storage.close();

    const second = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    try {
      assert.equal(second.status("a", "nokv").capabilities, ["log", "secret:db"]);
      assert.is((await second.call("a", "nokv", "kv")).output, KV_DENIED, "still denied after the restart");
      assert.is((await second.call("a", "nokv", "secret:db")).output, 'not-found: secret "db" is not stored for tenant a; store it (solo secret put a db)', "still granted after the restart");
      assert.equal(second.status("a", "old").capabilities, ["clock", "kv", "log", "random"]);
      assert.is((await second.call("a", "old", "kv")).output, "kv v");
      const bad = second.status("a", "tampered");
      assert.is(bad.state, "failed");
      assert.is(bad.failure?.code, "INVALID_ARGUMENT");
      assert.match(bad.failure!.message, /capability "network" is unknown or malformed/);
      await rejects(second.call("a", "tampered", "kv"), "UNAVAILABLE");
      const denied = await eventsOf(second, "a", "capability_denied");
      assert.equal(denied.map((e) => `${e.service} ${String(e.data.import)}`), ["nokv kv.set", "nokv kv.set"]);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
