import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { keyId, type Vault } from "../../host/vault/index.ts";
import { rejects, test } from "../helpers.ts";
import { allEvents, openVault, type OpenVault } from "./open-vault.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const REGISTER = join(here, "..", "..", "bin", "ts-register.mjs");
const CHILD = join(here, "rotate-child.ts");
/** Records per re-seal batch here (100 by default): a few batches from a few dozen secrets. */
const BATCH = 10;

/** Stores n secrets over three tenants; answers what each should read. */
async function seed(vault: Vault, n: number): Promise<Map<string, string>> {
  const want = new Map<string, string>();
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const tenant = `t${i % 3}`;
    const name = `s${i}`;
    const value = `value-${i}-${randomBytes(6).toString("hex")}`;
    want.set(`${tenant}/${name}`, value);
    writes.push(vault.store(tenant, name, value));
  }
  await Promise.all(writes);
  return want;
}

/** Every secret reads back, and every record is sealed with the key in master.key. */
async function check(v: OpenVault, dir: string, want: Map<string, string>, label: string): Promise<void> {
  for (const [id, value] of want) {
    const [tenant, name] = id.split("/") as [string, string];
    assert.is(v.vault.retrieve(tenant, name), value, `${label}: ${id}`);
  }
  const fileKey = keyId(readFileSync(join(dir, "master.key")));
  assert.is(v.vault.keyId, fileKey, `${label}: the key in use is master.key's`);
  assert.not.ok(existsSync(join(dir, "master.key.next")), `${label}: no rotation left half-done`);
  const keys = new Set((await v.storage.recordsWithPrefix("z:")).map(([, text]) => (JSON.parse(text) as { key: string }).key));
  assert.equal([...keys], [fileKey], `${label}: every record under the one key`);
}

test("rotate() re-seals every secret under a new key: master.key replaced, each record names the new key, a restart reads them all; a store during the rotation is kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-rotate-"));
  try {
    const v = await openVault(dir, {}, BATCH);
    let want: Map<string, string>;
    let newKeyId: string;
    try {
      want = await seed(v.vault, 2 * BATCH + 5);
      const before = v.vault.keyId;
      const steps: string[] = [];
      const rotating = v.vault.rotate(undefined, (s) => void steps.push(s));
      const during = v.vault.store("t0", "during", "stored while rotating");
      const report = await rotating;
      await during;
      want.set("t0/during", "stored while rotating");
      assert.is(report.previousKeyId, before);
      assert.is.not(report.keyId, before);
      assert.is(report.secrets, 2 * BATCH + 5);
      assert.equal(steps, ["next-key", "batch 1", "batch 2", "batch 3", "resealed", "promoted"]);
      newKeyId = report.keyId;
      await check(v, dir, want, "after rotate");
      const rotated = (await allEvents(v.events)).filter((e) => e.type === "secrets_rotated");
      assert.equal(rotated.map((e) => [e.tenant, e.data]), [["_host", { keyId: newKeyId, previousKeyId: before, secrets: 2 * BATCH + 5 }]]);
    } finally {
      await v.close();
    }
    const again = await openVault(dir);
    try {
      assert.is(again.vault.keyId, newKeyId);
      await check(again, dir, want, "after a restart");
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("with SOLO_MASTER_KEY a rotation needs the new key and writes no file; the next start needs the new key (or the old one as SOLO_MASTER_KEY_PREVIOUS)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-rotate-"));
  try {
    const oldKey = randomBytes(32).toString("hex");
    const newKey = randomBytes(32).toString("base64");
    const v = await openVault(dir, { SOLO_MASTER_KEY: oldKey });
    try {
      await v.vault.store("a", "db", "env value");
      const e = await rejects(v.vault.rotate(), "INVALID_ARGUMENT");
      assert.match(e.message, /the master key comes from SOLO_MASTER_KEY: give the new key/);
      const same = await rejects(v.vault.rotate(oldKey), "INVALID_ARGUMENT");
      assert.match(same.message, /the new key is the key in use/, "rotating to the key in use is refused");
      const r = await v.vault.rotate(newKey);
      assert.is(r.keyId, keyId(Buffer.from(newKey, "base64")));
      assert.is(v.vault.retrieve("a", "db"), "env value");
    } finally {
      await v.close();
    }
    assert.not.ok(existsSync(join(dir, "master.key")) || existsSync(join(dir, "master.key.next")), "nothing written to disk");
    await rejects(openVault(dir, { SOLO_MASTER_KEY: oldKey }), "INVALID_ARGUMENT");
    const fresh = await openVault(dir, { SOLO_MASTER_KEY: newKey });
    assert.is(fresh.vault.retrieve("a", "db"), "env value");
    await fresh.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs the child until it prints `until` (then SIGKILL), or for `ms` (then SIGKILL, wherever it is). */
function runAndKill(dir: string, stopAt: string | undefined, until: string, ms?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", REGISTER, CHILD, dir, String(BATCH), ...(stopAt ? [stopAt] : [])], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (ms !== undefined && out.includes("OPENED\n") && !timer) timer = setTimeout(() => child.kill("SIGKILL"), ms);
      if (out.includes(until)) child.kill("SIGKILL");
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal === "SIGKILL" || out.includes("DONE")) resolve(out);
      else reject(new Error(`the rotating child exited ${code}: ${err}`));
    });
  });
}

test("a SIGKILL at each step of a rotation (and at random moments) loses no secret: the next open finishes the rotation", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-rotate-kill-"));
  try {
    const v = await openVault(dir, {}, BATCH);
    const want = await seed(v.vault, 4 * BATCH + 5);
    await v.close();
    // A rotation killed while writing the new key leaves at most its temporary file: nothing was sealed with it.
    writeFileSync(join(dir, "master.key.next.tmp"), randomBytes(7), { mode: 0o600 });
    const points = ["next-key", "batch 1", "batch 3", "resealed", "promoted"];
    const keysSeen = new Set<string>();
    for (const point of [...points, undefined]) {
      const out = await runAndKill(dir, point, point ? `AT ${point}\n` : "DONE\n", point ? undefined : 50 + Math.floor(Math.random() * 400));
      if (point) assert.match(out, `AT ${point}`, "killed where it was told to stop");
      const label = `killed at ${point ?? "a random moment"}`;
      if (point && point !== "promoted") assert.ok(existsSync(join(dir, "master.key.next")), `${label}: the rotation was under way`);
      const r = await openVault(dir, {}, BATCH);
      try {
        await check(r, dir, want, label);
        keysSeen.add(r.vault.keyId);
      } finally {
        await r.close();
      }
      assert.not.ok(existsSync(join(dir, "master.key.next.tmp")));
    }
    assert.ok(keysSeen.size >= points.length, "each stopped rotation moved to a new key");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
