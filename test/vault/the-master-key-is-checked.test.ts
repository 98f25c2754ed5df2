import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keyId } from "../../host/vault/index.ts";
import { test } from "../helpers.ts";
import { allEvents, openVault } from "./open-vault.ts";

async function refused(p: Promise<unknown>): Promise<{ code: string; message: string; details?: Record<string, unknown> }> {
  try {
    const v = (await p) as { close(): Promise<void> };
    await v.close();
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error("the vault opened");
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "solo-vault-key-"));
}

test("the first start makes master.key: 32 bytes, mode 0600; a key file others can read, of another size, or missing while secrets exist is refused", async () => {
  const dir = tmp();
  try {
    const v = await openVault(dir);
    await v.vault.store("a", "db", "value");
    await v.close();
    const path = join(dir, "master.key");
    assert.is(statSync(path).mode & 0o777, 0o600);
    const key = readFileSync(path);
    assert.is(key.length, 32);

    chmodSync(path, 0o644);
    const open = await refused(openVault(dir));
    assert.is(open.code, "INTERNAL");
    assert.is(open.message, `the vault's key ${path} can be read by other users (mode 644); run chmod 600 on it, and if others may have read it, rotate the key (solo secret rotate) once the host is up`);
    chmodSync(path, 0o600);

    writeFileSync(path, key.subarray(0, 31), { mode: 0o600 });
    const short = await refused(openVault(dir));
    assert.is(short.code, "INTERNAL");
    assert.match(short.message, /holds 31 bytes, not 32; restore the right file/);

    rmSync(path);
    const missing = await refused(openVault(dir));
    assert.is(missing.code, "INTERNAL");
    assert.match(missing.message, /key file .*master\.key is missing but the database holds secrets sealed with it; restore that file/);
    assert.not.ok(existsSync(path), "no new key is made over secrets it could not read");

    writeFileSync(path, key, { mode: 0o600 });
    const back = await openVault(dir);
    assert.is(back.vault.retrieve("a", "db"), "value");
    await back.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("SOLO_MASTER_KEY (hex or base64) is used when set and nothing is written to disk; a malformed one is INVALID_ARGUMENT that never echoes it", async () => {
  const dir = tmp();
  try {
    const key = randomBytes(32);
    const v = await openVault(dir, { SOLO_MASTER_KEY: key.toString("hex") });
    assert.is(v.vault.keyId, keyId(key));
    await v.vault.store("a", "db", "from-env");
    const rec = (await v.storage.recordsWithPrefix("z:"))[0]![1];
    assert.is(JSON.parse(rec!).key, keyId(key));
    await v.close();
    assert.not.ok(existsSync(join(dir, "master.key")), "no key file with SOLO_MASTER_KEY");

    const b64 = await openVault(dir, { SOLO_MASTER_KEY: key.toString("base64") });
    assert.is(b64.vault.retrieve("a", "db"), "from-env", "the same key written as base64");
    await b64.close();

    for (const bad of ["short", key.toString("hex").slice(2), `${key.toString("base64")}AAAA`]) {
      const e = await refused(openVault(dir, { SOLO_MASTER_KEY: bad }));
      assert.is(e.code, "INVALID_ARGUMENT");
      assert.is(e.details?.field, "SOLO_MASTER_KEY");
      assert.not.ok(e.message.includes(bad), "the message does not echo the key");
    }

    // Another key: the secrets sealed with the first cannot be read, so the vault does not open.
    const other = randomBytes(32);
    const wrong = await refused(openVault(dir, { SOLO_MASTER_KEY: other.toString("hex") }));
    assert.is(wrong.code, "INVALID_ARGUMENT");
    assert.match(wrong.message, new RegExp(`SOLO_MASTER_KEY holds key ${keyId(other)}, but the vault has secrets sealed with other keys \\(1 under key ${keyId(key)}\\); set SOLO_MASTER_KEY to the key they were sealed with, or give it as SOLO_MASTER_KEY_PREVIOUS`));

    // With the old key as SOLO_MASTER_KEY_PREVIOUS, the open re-seals them with the new one.
    const moved = await openVault(dir, { SOLO_MASTER_KEY: other.toString("hex"), SOLO_MASTER_KEY_PREVIOUS: key.toString("base64") });
    assert.is(moved.vault.retrieve("a", "db"), "from-env");
    const rec2 = (await moved.storage.recordsWithPrefix("z:"))[0]![1];
    assert.is(JSON.parse(rec2!).key, keyId(other));
    const rotated = (await allEvents(moved.events)).filter((e) => e.type === "secrets_rotated");
    assert.equal(rotated.map((e) => e.data), [{ keyId: keyId(other), previousKeyId: keyId(key), secrets: 1, finishedAtOpen: true }]);
    await moved.close();
    const alone = await openVault(dir, { SOLO_MASTER_KEY: other.toString("hex") });
    assert.is(alone.vault.retrieve("a", "db"), "from-env", "the new key alone is enough now");
    await alone.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("moving from master.key to SOLO_MASTER_KEY: the file's key is read once to re-seal every secret under the variable's", async () => {
  const dir = tmp();
  try {
    const v = await openVault(dir);
    await v.vault.store("a", "db", "filed");
    await v.close();
    const env = randomBytes(32).toString("base64");
    const w = await openVault(dir, { SOLO_MASTER_KEY: env });
    assert.is(w.vault.retrieve("a", "db"), "filed");
    await w.close();
    rmSync(join(dir, "master.key"));
    const x = await openVault(dir, { SOLO_MASTER_KEY: env });
    assert.is(x.vault.retrieve("a", "db"), "filed", "the file is no longer needed");
    await x.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
