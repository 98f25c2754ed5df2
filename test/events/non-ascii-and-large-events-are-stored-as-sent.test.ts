import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore, type SoloEvent } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";

test("events with text outside ASCII, lone surrogates and 200 KB payloads, appended in one batch: get, filtered queries and verify see them as sent, also after a reopen", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-utf8-"));
  const big = "é".repeat(100_000); // 200 KB of UTF-8: more than the first buffer of a message holds
  try {
    let storage = await Storage.open(join(dir, "db"));
    let store = await EventStore.open(storage);
    // One tick: one batch, so the index offsets of the later events count the earlier ones' text.
    const made = await Promise.all([
      store.append({ type: "guest_event", tenant: "ü", service: "s", data: { text: "😀 grüße" } }),
      store.append({ type: "guest_event", tenant: "b", data: { big } }),
      store.append({ type: "guest_event", tenant: "ü", service: "s", data: { lone: "\ud83d", text: "日本" } }),
      store.append({ type: "service_deployed", tenant: "ü", service: "s", data: { n: 3 } }),
      store.append({ type: "guest_event", tenant: "c", data: { text: "\u2028\u0000\"\\" } }),
    ]);
    const check = async (label: string) => {
      // As stored: an event without a service has no service field.
      const plain = (es: SoloEvent[]) => es.map((e) => JSON.parse(JSON.stringify(e)) as SoloEvent);
      for (const e of made) assert.equal(await store.get(e.id), plain([e])[0], `${label}: get ${e.id}`);
      assert.equal(await store.list({ tenant: "ü" }), plain([made[0]!, made[2]!, made[3]!]), `${label}: by tenant (offsets into the batch)`);
      assert.equal(await store.list({ tenant: "ü", service: "s", type: "service_deployed" }), plain([made[3]!]), `${label}: by service and type`);
      assert.equal(await store.list({ tenant: "b" }), plain([made[1]!]), `${label}: an inline index entry`);
      assert.equal(await store.list({ tenant: "c" }), plain([made[4]!]), `${label}: escapes`);
      assert.equal(await store.list({ after: made[0]!.id }), plain(made.slice(1)), `${label}: the whole batch after an id`);
      assert.equal(await store.verify(), { ok: true, checked: made.length }, `${label}: the chain hashes the stored text`);
    };
    await check("before a reopen");
    await storage.close();
    storage = await Storage.open(join(dir, "db"));
    store = await EventStore.open(storage);
    assert.is(store.lastId(), made[4]!.id);
    await check("after a reopen");
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("data that is not plain (a Date, a toJSON) is stored as JSON.stringify makes it, a cycle is refused as it refuses it, and the batch around them is whole", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-json-"));
  try {
    const storage = await Storage.open(join(dir, "db"));
    const store = await EventStore.open(storage);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const before = store.append({ type: "guest_event", tenant: "t", data: { n: 1 } });
    const dated = store.append({ type: "guest_event", tenant: "t", data: { when: new Date(0), money: { toJSON: () => "1.00 EUR" } } });
    assert.throws(() => store.append({ type: "guest_event", tenant: "t", data: cyclic }), (e: unknown) => e instanceof TypeError, "a cycle throws, as JSON.stringify does");
    const after = store.append({ type: "guest_event", tenant: "t", data: { n: 2, big: "x".repeat(70_000) } }); // past a 64 KB segment
    const made = await Promise.all([before, dated, after]);
    const stored = await store.list({ tenant: "t" });
    assert.equal(stored, made.map((e) => JSON.parse(JSON.stringify(e))));
    assert.equal(stored[1]!.data, { when: "1970-01-01T00:00:00.000Z", money: "1.00 EUR" });
    assert.equal(await store.verify(), { ok: true, checked: 3 });
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
