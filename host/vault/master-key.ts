// The vault's master keys: where they come from and how a new one replaces the old on disk.
//
//   SOLO_MASTER_KEY            the key, when set: 32 bytes as base64 (44 characters, or 43 without
//                              the "=") or as 64 hex digits. Nothing is written to disk.
//   SOLO_MASTER_KEY_PREVIOUS   an older key in the same format, read only to decrypt (and
//                              re-encrypt) records still under it, after a rotation to a new
//                              SOLO_MASTER_KEY that did not finish.
//   <dataDir>/master.key       otherwise: 32 raw bytes, created (mode 0600, exclusively) on the
//                              first start. A file others can read, or of another size, is refused.
//   <dataDir>/master.key.next  a rotation under way: the new key, written (tmp file, fsync,
//                              rename, fsync of the directory) before any record is re-encrypted.
//                              Renamed over master.key once every record is under it, so the old
//                              key goes last. Both files present at open: the rotation is finished
//                              then.
//
// A key is named by its id, the first 16 hex digits of sha256("solo vault key\0" + key): records
// say which key sealed them, and ids are safe to log. The key itself never leaves this process.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { SoloError } from "../errors.ts";

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_ENV = "SOLO_MASTER_KEY";
export const PREVIOUS_KEY_ENV = "SOLO_MASTER_KEY_PREVIOUS";
export const KEY_FILE = "master.key";
export const NEXT_KEY_FILE = "master.key.next";
const TMP_SUFFIX = ".tmp";

export interface MasterKey {
  /** 16 hex digits; printable. */
  id: string;
  bytes: Buffer;
}

export function keyId(bytes: Buffer): string {
  return createHash("sha256").update("solo vault key\0").update(bytes).digest("hex").slice(0, 16);
}

export function masterKey(bytes: Buffer): MasterKey {
  return { id: keyId(bytes), bytes };
}

/**
 * A key given as text: 64 hex digits or base64 of 32 bytes. `source` names where it came from,
 * for the message (never the text itself).
 */
export function parseKey(text: string, source: string): MasterKey {
  const t = typeof text === "string" ? text.trim() : "";
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = Buffer.from(t, "hex");
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) bytes = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (!bytes || bytes.length !== MASTER_KEY_BYTES) {
    throw new SoloError("INVALID_ARGUMENT", `${source} must be 32 bytes written as 64 hex digits or as base64 (44 characters); make one with: openssl rand -base64 32`, { field: source });
  }
  return masterKey(bytes);
}

/** What the vault decrypts and encrypts with: the current key and older ones still readable. */
export interface KeyRing {
  /** "env": SOLO_MASTER_KEY; "file": <dataDir>/master.key. */
  mode: "env" | "file";
  current: MasterKey;
  /** Keys records may still be under: read only to re-encrypt them. */
  older: MasterKey[];
  /** File mode: a master.key.next left by a rotation that did not finish (already `current`). */
  unfinished: boolean;
}

/**
 * The keys for `dataDir`. `create` is false when records exist (a missing key file is then an
 * error: a new key could not decrypt them).
 */
export function loadKeys(dataDir: string, env: NodeJS.ProcessEnv, create: boolean): KeyRing {
  const main = join(dataDir, KEY_FILE);
  const next = join(dataDir, NEXT_KEY_FILE);
  // A temporary file is all a rotation wrote before its rename: nothing was sealed with it.
  rmSync(next + TMP_SUFFIX, { force: true });
  const fromEnv = env[MASTER_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== "") {
    const current = parseKey(fromEnv, MASTER_KEY_ENV);
    const older: MasterKey[] = [];
    const prev = env[PREVIOUS_KEY_ENV];
    if (prev !== undefined && prev !== "") older.push(parseKey(prev, PREVIOUS_KEY_ENV));
    // Key files from before the variable was set are read too, so records under them move to it.
    for (const path of [main, next]) {
      const k = readIfPresent(path);
      if (k) older.push(k);
    }
    return { mode: "env", current, older: older.filter((k) => k.id !== current.id), unfinished: false };
  }
  const old = readIfPresent(main);
  const pending = readIfPresent(next);
  if (pending) return { mode: "file", current: pending, older: old && old.id !== pending.id ? [old] : [], unfinished: true };
  if (old) return { mode: "file", current: old, older: [], unfinished: false };
  if (!create) {
    throw new SoloError("INTERNAL", `the vault's key file ${main} is missing but the database holds secrets sealed with it; restore that file (or set ${MASTER_KEY_ENV} to the key it held) and start again`);
  }
  return { mode: "file", current: createKeyFile(main), older: [], unfinished: false };
}

function readIfPresent(path: string): MasterKey | undefined {
  try {
    return masterKey(readKeyFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fail(path, err);
  }
}

/** Creates the key file (mode 0600, exclusively); another process making it first wins. */
function createKeyFile(path: string): MasterKey {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeExclusive(path, randomBytes(MASTER_KEY_BYTES));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fail(path, err);
  }
  try {
    return masterKey(readKeyFile(path));
  } catch (err) {
    throw fail(path, err);
  }
}

/** Rotation, step one: the new key on disk (durably) under master.key.next. */
export function writeNextKey(dataDir: string, key: MasterKey): void {
  const next = join(dataDir, NEXT_KEY_FILE);
  const tmp = next + TMP_SUFFIX;
  try {
    rmSync(tmp, { force: true });
    writeExclusive(tmp, key.bytes);
    renameSync(tmp, next);
    syncDir(dataDir);
  } catch (err) {
    throw fail(next, err);
  }
}

/** Rotation, last step: master.key.next becomes master.key, which drops the old key. */
export function promoteNextKey(dataDir: string): void {
  const next = join(dataDir, NEXT_KEY_FILE);
  try {
    renameSync(next, join(dataDir, KEY_FILE));
    syncDir(dataDir);
  } catch (err) {
    throw fail(next, err);
  }
}

function writeExclusive(path: string, bytes: Buffer): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readKeyFile(path: string): Buffer {
  const st = statSync(path);
  if (!st.isFile()) throw new SoloError("INTERNAL", `the vault's key ${path} is not a regular file; put the key file back (secrets sealed with it cannot be read without it)`);
  if ((st.mode & 0o077) !== 0) throw new SoloError("INTERNAL", `the vault's key ${path} can be read by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it, and if others may have read it, rotate the key (solo secret rotate) once the host is up`);
  const key = readFileSync(path);
  if (key.length !== MASTER_KEY_BYTES) throw new SoloError("INTERNAL", `the vault's key ${path} holds ${key.length} bytes, not ${MASTER_KEY_BYTES}; restore the right file (secrets sealed with the old key cannot be read without it)`);
  return key;
}

function fail(path: string, err: unknown): SoloError {
  if (err instanceof SoloError) return err;
  return new SoloError("INTERNAL", `cannot read or write the vault's key ${path}: ${(err as Error).message}; the host needs to read and write that file`);
}
