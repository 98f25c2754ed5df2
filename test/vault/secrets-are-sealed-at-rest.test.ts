import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Storage } from "../../host/storage/index.ts";
import { keyId } from "../../host/vault/index.ts";
import { rejects, test } from "../helpers.ts";
import { allEvents, openVault } from "./open-vault.ts";

/** Every file under dir, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(join(dir, d.name)) : d.isFile() ? [join(dir, d.name)] : []));
}

test("a stored value is nowhere on disk in clear: the raw record holds only the key id, a nonce and ciphertext; the same value twice seals differently", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-vault-"));
  const canary = `canary-${randomBytes(16).toString("hex")}`;
  try {
    const v = await openVault(dir);
    try {
      const info = await v.vault.store("a", "db", canary);
      assert.equal({ tenant: info.tenant, name: info.name, version: info.version }, { tenant: "a", name: "db", version: 1 });
      await v.vault.store("a", "db-copy", canary);
      assert.is(v.vault.retrieve("a", "db"), canary);
      // list: names and versions, never a value.
      assert.not.match(JSON.stringify(v.vault.list("a")), canary);
      const events = await allEvents(v.events);
      assert.equal(events.map((e) => `${e.type} ${e.tenant} ${JSON.stringify(e.data)}`), ['secret_stored a {"name":"db","version":1}', 'secret_stored a {"name":"db-copy","version":1}']);
    } finally {
      await v.close();
    }

    // A second open of the database, after the host's: the records as stored.
    const storage = await Storage.open(join(dir, "db"));
    let raw: [string, string][];
    try {
      raw = await storage.recordsWithPrefix("z:");
    } finally {
      await storage.close();
    }
    assert.equal(raw.map(([k]) => k), ["z:a/db", "z:a/db-copy"]);
    const master = readFileSync(join(dir, "master.key"));
    const [one, two] = raw.map(([, text]) => JSON.parse(text) as Record<string, unknown>);
    for (const r of [one!, two!]) {
      assert.is(r.key, keyId(master), "names the key by its id");
      assert.is(Buffer.from(r.nonce as string, "base64").length, 12);
      assert.is(Buffer.from(r.tag as string, "base64").length, 16);
      assert.not.ok(Buffer.from(r.data as string, "base64").includes(canary), "the ciphertext is not the value");
    }
    assert.is.not(one!.nonce, two!.nonce, "a fresh nonce per write");
    assert.is.not(one!.data, two!.data);
    assert.not.ok(raw.some(([, text]) => text.includes(canary) || text.includes(master.toString("hex")) || text.includes(master.toString("base64"))), "neither the value nor the key is in a record");

    // Every byte of every file in the data directory (SST, WAL, manifest, key file).
    const needle = Buffer.from(canary, "utf8");
    const all = files(dir);
    assert.ok(all.length > 3, "the database files are there to scan");
    for (const f of all) assert.not.ok(readFileSync(f).includes(needle), `${f} holds the value in clear`);
    assert.is(statSync(join(dir, "master.key")).mode & 0o777, 0o600);

    const again = await openVault(dir);
    try {
      assert.is(again.vault.retrieve("a", "db"), canary, "readable again after a restart");
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a changed byte, a record copied to another tenant or name, or a changed version fails to decrypt: INTERNAL naming the secret, never a value", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-vault-"));
  try {
    const v = await openVault(dir);
    try {
      await v.vault.store("a", "db", "alpha-secret-value");
      await v.vault.store("a", "api", "beta-secret-value");
      const rec = (await v.storage.recordsWithPrefix("z:a/db"))[0]![1];
      const sealed = JSON.parse(rec!) as { data: string; version: number };
      const data = Buffer.from(sealed.data, "base64");
      data[0]! ^= 1;
      await v.storage.write({
        records: [
          ["z:a/api", JSON.stringify({ ...sealed, data: data.toString("base64") })], // a flipped bit, in place of api's record
          ["z:b/db", rec!], // moved to another tenant
          ["z:a/db2", rec!], // moved to another name
          ["z:a/db3", JSON.stringify({ ...sealed, version: 2 })], // another version
          ["z:a/junk", "not a record"],
        ],
      });
      const reopened = await (await import("../../host/vault/index.ts")).Vault.open({ storage: v.storage, events: v.events, dataDir: dir, env: {} });
      assert.is(reopened.retrieve("a", "db"), "alpha-secret-value", "the original is untouched");
      for (const [tenant, name] of [["a", "api"], ["b", "db"], ["a", "db2"], ["a", "db3"]] as const) {
        try {
          reopened.retrieve(tenant, name);
          assert.unreachable(`${tenant}/${name} decrypted`);
        } catch (err) {
          const e = err as { code: string; message: string };
          assert.is(e.code, "INTERNAL", `${tenant}/${name}`);
          assert.is(e.message, `secret ${name} of tenant ${tenant} does not decrypt: its stored record was changed, or copied from another tenant or name; store the secret again (solo secret put)`);
        }
      }
      try {
        reopened.retrieve("a", "junk");
        assert.unreachable();
      } catch (err) {
        assert.match((err as Error).message, /secret junk of tenant a is damaged/);
      }
      assert.equal(reopened.list("a").filter((s) => s.damaged).map((s) => s.name), ["junk"]);
      // Storing again replaces a damaged or foreign record.
      await reopened.store("b", "db", "b's own");
      assert.is(reopened.retrieve("b", "db"), "b's own");
      await reopened.store("a", "junk", "fixed");
      assert.is(reopened.retrieve("a", "junk"), "fixed");
    } finally {
      await v.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("names, values and counts are checked before anything is written: INVALID_ARGUMENT, RESOURCE_EXHAUSTED past 1000 a tenant; revoke answers NOT_FOUND for a missing name", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-vault-"));
  try {
    const v = await openVault(dir);
    try {
      const code = async (p: Promise<unknown>) => {
        try {
          await p;
          return "ok";
        } catch (err) {
          const e = err as { code: string; details?: { field?: string } };
          return `${e.code} ${e.details?.field ?? ""}`.trim();
        }
      };
      assert.is(await code(v.vault.store("a", "Bad Name", "x")), "INVALID_ARGUMENT name");
      assert.is(await code(v.vault.store("A", "db", "x")), "INVALID_ARGUMENT tenant");
      assert.is(await code(v.vault.store("a", "db", "")), "INVALID_ARGUMENT value");
      assert.is(await code(v.vault.store("a", "db", "\ud800")), "INVALID_ARGUMENT value");
      assert.is(await code(v.vault.store("a", "db", "é".repeat(32 * 1024 + 1))), "INVALID_ARGUMENT value", "64 KiB is counted in UTF-8 bytes");
      assert.is(await code(v.vault.store("a", "db", "x".repeat(64 * 1024))), "ok");
      assert.is(await code(v.vault.revoke("a", "nope")), "NOT_FOUND");
      const e = await v.vault.store("a", "db", "y".repeat(64 * 1024 + 1)).catch((err: Error) => err);
      assert.not.match((e as Error).message, "yyyy", "the message never quotes the value");

      const stores: Promise<unknown>[] = [];
      for (let i = 1; i < 1000; i++) stores.push(v.vault.store("full", `s${i}`, "v"));
      stores.push(v.vault.store("full", "db", "v"));
      await Promise.all(stores);
      const over = await rejects(v.vault.store("full", "one-more", "v"), "RESOURCE_EXHAUSTED");
      assert.match(over.message, /tenant full holds 1000 secrets, the most a tenant may keep \(1000\); remove one/);
      assert.is((await v.vault.store("full", "db", "replaced")).version, 2, "replacing one is not one more");
      await v.vault.revoke("full", "s1");
      assert.is((await v.vault.store("full", "one-more", "v")).version, 1);
    } finally {
      await v.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
