import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RocksLevel } from "@nxtedition/rocksdb";
import { EventStore, type SoloEvent } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";

// Writes events in three separate batches, then lets a test edit the raw database.
async function withTamperedLog(tamper: (db: any, events: SoloEvent[]) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "solo-tamper-"));
  const path = join(dir, "db");
  try {
    let storage = await Storage.open(path);
    let store = await EventStore.open(storage);
    const events: SoloEvent[] = [];
    for (let i = 0; i < 9; i++) events.push(await store.append({ type: "guest_event", tenant: "a", data: { amount: i } }));
    assert.equal(await store.verify(), { ok: true, checked: 9 });
    await storage.close();
    const db = new RocksLevel(path, { keyEncoding: "utf8", valueEncoding: "utf8" }) as any;
    await db.open();
    await tamper(db, events);
    await db.close();
    storage = await Storage.open(path);
    store = await EventStore.open(storage);
    const report = await store.verify();
    await storage.close();
    return { report, events };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("editing a stored event is detected at that event", async () => {
  const { report, events } = await withTamperedLog(async (db, events) => {
    const key = `b:${events[4]!.id}`;
    const value: string = await db.get(key);
    assert.match(value, /"amount":4/);
    await db.put(key, value.replace('"amount":4', '"amount":1000'));
  });
  assert.is(report.ok, false);
  assert.is(report.brokenAt, events[4]!.id);
  assert.match(report.reason!, /edited/);
});

test("deleting a stored event is detected at the event after it", async () => {
  const { report, events } = await withTamperedLog(async (db, events) => {
    await db.del(`b:${events[3]!.id}`);
  });
  assert.is(report.ok, false);
  assert.is(report.brokenAt, events[4]!.id);
  assert.match(report.reason!, /removed or replaced/);
});

test("deleting the newest events is detected too", async () => {
  const { report } = await withTamperedLog(async (db, events) => {
    await db.del(`b:${events[8]!.id}`);
  });
  assert.is(report.ok, false);
  assert.match(report.reason!, /missing/);
});

test.run();
