import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventStore, type SoloEvent } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";

async function withStore(fn: (store: EventStore, storage: Storage) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "solo-burst-"));
  const storage = await Storage.open(join(dir, "db"));
  const store = await EventStore.open(storage);
  try {
    await fn(store, storage);
  } finally {
    store.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("3000 appends made in one tick resolve in id order over several turns of the event loop, each counted by lastId and offered to subscribers first", () =>
  withStore(async (store) => {
    const N = 3000;
    const sub = store.subscribe({ tenant: "a" });
    // One immediate per turn of the loop: `turn` tells in which turn each append resolved.
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const perTurn = new Map<number, number>();
    const resolved: string[] = [];
    const appended = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        store.append({ type: "guest_event", tenant: "a", data: { i } }).then((e: SoloEvent) => {
          perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
          resolved.push(e.id);
          assert.ok(store.lastId()! >= e.id, "lastId counts an append by the time it resolves");
          return e;
        }),
      ),
    );
    ticking = false;
    const ids = appended.map((e) => e.id);
    assert.equal(resolved, ids, "appends resolve in the order they were made");
    assert.equal([...ids].sort(), ids, "ids increase in that order");
    const most = Math.max(...perTurn.values());
    assert.ok(perTurn.size >= 4, `the burst resolved over ${perTurn.size} turns of the loop`);
    assert.ok(most <= N / 2, `no turn resolved most of the burst (the most in one turn: ${most})`);
    const got: string[] = [];
    for await (const e of sub) if (got.push(e.id) === N) break;
    assert.equal(got, ids, "the subscriber got every event, in order");
    assert.equal(await store.verify(), { ok: true, checked: N });
  }));

test("a burst whose first group commit fails settles in order: its appends reject with INTERNAL, later ones resolve durable", () =>
  withStore(async (store, storage) => {
    const before = await store.append({ type: "guest_event", tenant: "a" });
    await storage.injectFaults({ ops: ["write"], next: 1 });
    const N = 3000;
    const settledOrder: number[] = [];
    const outcomes = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        store.append({ type: "guest_event", tenant: "a", data: { i } }).then(
          (e) => (settledOrder.push(i), e),
          (err) => (settledOrder.push(i), err.code as string),
        ),
      ),
    );
    assert.equal(settledOrder, Array.from({ length: N }, (_, i) => i), "every append settled in the order it was made");
    const failed = outcomes.filter((o) => typeof o === "string");
    assert.ok(failed.length >= 1024, `the first group commit (a whole message of 1024 at least) failed: ${failed.length}`);
    assert.ok(failed.every((o) => o === "INTERNAL"));
    const ok = outcomes.filter((o): o is SoloEvent => typeof o !== "string");
    assert.equal(outcomes.slice(0, failed.length), failed, "the failed ones are the first ones");
    assert.equal((await store.list({ limit: 10_000 })).map((e) => e.id), [before.id, ...ok.map((e) => e.id)], "what resolved is stored; what rejected is not");
    assert.equal(await store.verify(), { ok: true, checked: 1 + ok.length });
    const next = await store.append({ type: "guest_event", tenant: "a" });
    assert.is(store.lastId(), next.id);
  }));

test.run();
