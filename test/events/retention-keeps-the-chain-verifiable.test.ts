import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";

test("a count limit compacts the oldest events; the rest still verify from the checkpoint, also after a reopen", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-retention-"));
  try {
    let storage = await Storage.open(join(dir, "db"));
    let store = await EventStore.open(storage);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await store.append({ type: "guest_event", tenant: "a", data: { i } })).id);
    const removed = await store.compact({ maxEvents: 10 });
    assert.is(removed, 30);
    const left = await store.list();
    assert.equal(left.map((e) => e.id), ids.slice(30));
    assert.equal(await store.verify(), { ok: true, checked: 10 });
    assert.equal((await store.list({ tenant: "a" })).length, 10, "the index no longer points at removed events");
    const next = await store.append({ type: "guest_event", tenant: "a" });
    assert.equal(await store.verify(), { ok: true, checked: 11 });
    await storage.close();

    storage = await Storage.open(join(dir, "db"));
    store = await EventStore.open(storage);
    assert.is(store.lastId(), next.id);
    assert.equal(await store.verify(), { ok: true, checked: 11 });
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an age limit removes only events older than it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-retention-"));
  const storage = await Storage.open(join(dir, "db"));
  const store = await EventStore.open(storage);
  try {
    for (let i = 0; i < 5; i++) await store.append({ type: "guest_event", tenant: "a", data: { old: true } });
    await new Promise((r) => setTimeout(r, 1200)); // generous: a loaded machine must not blur old and new
    for (let i = 0; i < 5; i++) await store.append({ type: "guest_event", tenant: "a", data: { old: false } });
    assert.is(await store.compact({ maxAgeMs: 600 }), 5);
    const left = await store.list();
    assert.ok(left.every((e) => e.data.old === false));
    assert.is((await store.verify()).ok, true);
  } finally {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
