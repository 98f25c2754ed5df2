// The behaviour every event-store backend must show. A backend's test file calls
// eventStoreContract with a way to open a store on a directory (and to reopen it there).
import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EventStore, SoloEvent } from "../../host/events/index.ts";

export interface OpenedStore {
  store: EventStore;
  close(): Promise<void>;
}

export function eventStoreContract(backend: string, open: (dir: string) => Promise<OpenedStore>) {
  const withStore = async (fn: (s: EventStore, dir: string) => Promise<void>) => {
    const dir = mkdtempSync(join(tmpdir(), "solo-events-"));
    const opened = await open(dir);
    try {
      await fn(opened.store, dir);
    } finally {
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test(`${backend}: appends come back in order with strictly increasing ids`, () =>
    withStore(async (s) => {
      const appended = await Promise.all(Array.from({ length: 300 }, (_, i) => s.append({ type: "guest_event", tenant: "a", service: "svc", data: { i } })));
      const ids = appended.map((e) => e.id);
      assert.equal([...ids].sort(), ids, "ids increase in append order, even within one millisecond");
      assert.is(new Set(ids).size, 300);
      const stored = await s.list({ tenant: "a" });
      assert.equal(stored.map((e) => e.id), ids);
      assert.equal(stored.map((e) => e.data.i), appended.map((_, i) => i));
      assert.is(s.lastId(), ids[299]);
      const one = await s.get(ids[42]!);
      assert.is(one?.data.i, 42);
      assert.is(one?.actor, "local");
      assert.is(await s.get("01ZZZZZZZZZZZZZZZZZZZZZZZZ"), undefined);
    }));

  test(`${backend}: filters by tenant, service and type, with after, before and limit`, () =>
    withStore(async (s) => {
      const made: SoloEvent[] = [];
      for (let i = 0; i < 60; i++) {
        made.push(await s.append({ type: i % 3 === 0 ? "service_deployed" : "guest_event", tenant: i % 2 ? "odd" : "even", service: `s${i % 4}`, data: { i } }));
      }
      const odd = await s.list({ tenant: "odd" });
      assert.is(odd.length, 30);
      assert.ok(odd.every((e) => e.tenant === "odd"));
      const s1 = await s.list({ tenant: "odd", service: "s1" });
      assert.equal(s1.map((e) => e.data.i), made.filter((e) => e.tenant === "odd" && e.service === "s1").map((e) => e.data.i));
      const deployed = await s.list({ type: "service_deployed" });
      assert.is(deployed.length, 20);
      const evenDeployed = await s.list({ tenant: "even", type: "service_deployed" });
      assert.is(evenDeployed.length, 10);
      const after = await s.list({ after: made[49]!.id });
      assert.equal(after.map((e) => e.data.i), [50, 51, 52, 53, 54, 55, 56, 57, 58, 59]);
      const between = await s.list({ after: made[9]!.id, before: made[15]!.id });
      assert.equal(between.map((e) => e.data.i), [10, 11, 12, 13, 14]);
      const limited = await s.list({ tenant: "even", limit: 4 });
      assert.equal(limited.map((e) => e.data.i), [0, 2, 4, 6]);
    }));

  test(`${backend}: the hash chain verifies`, () =>
    withStore(async (s) => {
      for (let i = 0; i < 50; i++) await s.append({ type: "guest_event", tenant: "a", data: { i } });
      const report = await s.verify();
      assert.equal(report, { ok: true, checked: 50 });
    }));

  test(`${backend}: ids keep increasing and the chain holds across a reopen`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "solo-events-"));
    try {
      let first = await open(dir);
      const a = await first.store.append({ type: "guest_event", tenant: "a" });
      await first.close();
      const second = await open(dir);
      assert.is(second.store.lastId(), a.id);
      const b = await second.store.append({ type: "guest_event", tenant: "a" });
      assert.ok(b.id > a.id);
      assert.equal((await second.store.list()).map((e) => e.id), [a.id, b.id]);
      assert.is((await second.store.verify()).ok, true);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${backend}: subscribe replays from an id, then goes live with no gap and no duplicate`, () =>
    withStore(async (s) => {
      const early: SoloEvent[] = [];
      for (let i = 0; i < 20; i++) early.push(await s.append({ type: "guest_event", tenant: "a", data: { i } }));
      const sub = s.subscribe({ tenant: "a" }, { after: early[4]!.id });
      const seen: number[] = [];
      const reading = (async () => {
        for await (const e of sub) {
          seen.push(e.data.i as number);
          if (seen.length === 15 + 30) break;
        }
      })();
      // Appends race with the replay: some land before it ends, some after.
      for (let i = 20; i < 50; i++) {
        await s.append({ type: "guest_event", tenant: "a", data: { i } });
        if (i === 30) await new Promise((r) => setTimeout(r, 5));
      }
      await s.append({ type: "guest_event", tenant: "b", data: { i: -1 } }); // another tenant: filtered out
      await reading;
      assert.equal(seen, Array.from({ length: 45 }, (_, k) => k + 5));
    }));

  test(`${backend}: a subscriber that stops reading is dropped with a clear reason`, () =>
    withStore(async (s) => {
      const sub = s.subscribe({}, { maxBuffer: 10 });
      for (let i = 0; i < 25; i++) await s.append({ type: "guest_event", tenant: "a", data: { i } });
      let error: any;
      try {
        for await (const _ of sub) { /* the buffer overflowed before we started reading */ }
      } catch (e) {
        error = e;
      }
      assert.is(error?.code, "RESOURCE_EXHAUSTED");
      assert.is(error?.details?.reason, "slow_subscriber");
      // The store goes on.
      await s.append({ type: "guest_event", tenant: "a" });
    }));
}
