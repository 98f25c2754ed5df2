import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Storage, artifactKey } from "../../host/storage/index.ts";

test("a record holds bytes as they are (every byte value), across a reopen; null deletes it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-bytes-"));
  try {
    const bytes = new Uint8Array(256 * 4).map((_, i) => i % 256);
    let storage = await Storage.open(join(dir, "db"));
    await storage.write({ records: [[artifactKey("abc"), bytes], ["v:a/svc", "text é"]] });
    await storage.close();
    storage = await Storage.open(join(dir, "db"));
    const back = await storage.recordBytes(artifactKey("abc"));
    assert.ok(back instanceof Uint8Array);
    assert.equal([...back!], [...bytes]);
    assert.equal([...(await storage.recordBytes("v:a/svc"))!], [...Buffer.from("text é")], "a text record read as bytes is its UTF-8");
    assert.equal(await storage.recordsWithPrefix("v:"), [["v:a/svc", "text é"]]);
    await storage.write({ records: [[artifactKey("abc"), null]] });
    assert.is(await storage.recordBytes(artifactKey("abc")), null);
    assert.is(await storage.recordBytes(artifactKey("never")), null);
    await storage.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
