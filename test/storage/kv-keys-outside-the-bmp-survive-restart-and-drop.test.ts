import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RocksKvStore, Storage } from "../../host/storage/index.ts";

// An emoji is four UTF-8 bytes starting 0xf0, which sorts after "\uffff" (ef bf bf): a range that
// ended at "\uffff" lost such keys at every load and left them behind at every drop.
const KEYS = ["plain", "é", "\uffff", "😀 smile", "𝄞", "\u{10FFFF}"];

test("kv keys outside the Basic Multilingual Plane load after a restart and go with a drop", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-kv-bmp-"));
  try {
    let storage = await Storage.open(join(dir, "db"));
    let kv = new RocksKvStore(storage);
    await kv.commit("a/svc", KEYS.map((k, i) => [k, `v${i}`]));
    await kv.commit("a/svc2", [["😀", "neighbour"]]);
    await storage.close();

    storage = await Storage.open(join(dir, "db"));
    kv = new RocksKvStore(storage);
    assert.equal(new Map(await kv.load("a/svc")), new Map(KEYS.map((k, i) => [k, `v${i}`])), "every key is back after a restart");
    await kv.drop("a/svc");
    assert.equal(await kv.load("a/svc"), [], "a dropped store is empty, emoji keys too");
    assert.equal(await kv.load("a/svc2"), [["😀", "neighbour"]], "a neighbouring scope keeps its keys");
    await storage.close();

    storage = await Storage.open(join(dir, "db"));
    kv = new RocksKvStore(storage);
    assert.equal(await kv.load("a/svc"), [], "still empty after a restart");
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
