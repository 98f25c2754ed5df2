import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RocksLevel } from "@nxtedition/rocksdb";
import { ReusedBatch, type WriteOp } from "../../host/storage/write-batch.ts";

type Db = { open(): Promise<void>; get(key: string): Promise<string>; close(): Promise<void> };

/** A real RocksDB in a temp directory, and a get that answers undefined for a missing key. */
function openDb(): { dir: string; db: Db; get: (key: string) => Promise<string | undefined> } {
  const dir = mkdtempSync(join(tmpdir(), "solo-batch-"));
  const db = new RocksLevel(join(dir, "db"), { keyEncoding: "utf8", valueEncoding: "utf8" }) as unknown as Db;
  const get = (key: string) => db.get(key).catch((err: { code?: string }) => {
    if (err.code === "LEVEL_NOT_FOUND") return undefined;
    throw err;
  });
  return { dir, db, get };
}

// The storage thread writes every group commit through one batch it clears and reuses. A write
// the binding refuses half-way must leave nothing behind: neither on disk nor in the next write.
test("a write refused half-way stores none of its ops, and the next write through the batch stores only its own", async () => {
  const { dir, db, get } = openDb();
  try {
    await db.open();
    const batch = new ReusedBatch(db);
    batch.write([{ type: "put", key: "a", value: "1" }, { type: "put", key: "b", value: new Uint8Array([50]) }]);
    assert.is(await get("a"), "1");
    assert.is(await get("b"), "2", "a byte value is stored as given");
    // A null value is refused by the binding after the first op was added to the batch.
    const bad = [{ type: "put", key: "c", value: "3" }, { type: "put", key: "d", value: null }] as unknown as WriteOp[];
    assert.throws(() => batch.write(bad), /value cannot be null/);
    batch.write([{ type: "del", key: "a" }]);
    assert.is(await get("a"), undefined, "the delete landed");
    assert.is(await get("c"), undefined, "the refused write's first op was not carried into the next write");
    assert.is(await get("b"), "2");
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a write that fails once its ops are in the batch (as a failing fsync would) stores none of them; after close, writes say the database is closed", async () => {
  const { dir, db, get } = openDb();
  try {
    await db.open();
    const batch = new ReusedBatch(db);
    assert.throws(() => batch.write([{ type: "put", key: "x", value: "1" }, { type: "put", key: "y", value: "2" }], () => {
      throw new Error("injected: disk gone");
    }), /disk gone/);
    assert.is(await get("x"), undefined, "nothing of the failed write is on disk");
    batch.write([{ type: "put", key: "z", value: "3" }]);
    assert.is(await get("z"), "3");
    assert.is(await get("x"), undefined, "the failed write's ops did not ride along with the next one");
    assert.is(await get("y"), undefined);
    await db.close();
    assert.throws(() => batch.write([{ type: "put", key: "w", value: "4" }]), /the database is closed/);
  } finally {
    await db.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
