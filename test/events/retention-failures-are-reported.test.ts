import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore, startRetention } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";
import type { SoloError } from "../../host/index.ts";

/** Waits for a condition; the deadline is far past what it needs, so load never decides. */
async function until(what: string, ok: () => boolean | Promise<boolean>) {
  const deadline = Date.now() + 30_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("a failing retention run is reported to onError and counted, and the next runs still compact", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-retention-fail-"));
  const storage = await Storage.open(join(dir, "db"));
  try {
    const store = await EventStore.open(storage);
    for (let i = 0; i < 20; i++) await store.append({ type: "guest_event", tenant: "a", data: { i } });
    await storage.injectFaults({ ops: ["compact"], next: 2 });
    const errors: SoloError[] = [];
    const timer = startRetention(store, { maxEvents: 5, intervalMs: 5, onError: (e) => errors.push(e) });
    try {
      await until("two failures", () => errors.length >= 2);
      await until("a compaction after them", async () => (await store.list()).length === 5);
    } finally {
      timer.stop();
    }
    assert.is(errors.length, 2);
    assert.is(timer.failures, 2);
    assert.is(errors[0]!.code, "INTERNAL");
    assert.match(errors[0]!.message, /injected fault \(compact\)/);
    assert.equal(await store.verify(), { ok: true, checked: 5 });
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
