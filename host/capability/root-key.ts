// The root secret every token's MAC chain starts from: 32 random bytes in a file only its owner
// can read. Whoever reads it can mint any token, admin included, so a file that others can read
// is refused rather than used.
import { randomBytes } from "node:crypto";
import { mkdirSync, openSync, readFileSync, statSync, writeSync, closeSync, fsyncSync } from "node:fs";
import { dirname } from "node:path";
import { SoloError } from "../errors.ts";

export const ROOT_KEY_BYTES = 32;

/** Reads the key file, or creates it (mode 0600, exclusively) if it does not exist. */
export function loadRootKey(path: string): Buffer {
  if (typeof path !== "string" || path === "") throw new SoloError("INVALID_ARGUMENT", "keyFile must be a file path", { field: "keyFile" });
  try {
    return read(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fail(path, err);
  }
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, "wx", 0o600);
    try {
      writeSync(fd, randomBytes(ROOT_KEY_BYTES));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    // Another process made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fail(path, err);
  }
  try {
    return read(path);
  } catch (err) {
    throw fail(path, err);
  }
}

function read(path: string): Buffer {
  const st = statSync(path);
  if (!st.isFile()) throw new SoloError("INTERNAL", `the token key ${path} is not a regular file; remove it so the host creates a new key (every token granted with the old one stops working)`);
  if ((st.mode & 0o077) !== 0) throw new SoloError("INTERNAL", `the token key ${path} can be read by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 on it, and if others may have read it, remove it so the host makes a new key (every token stops working)`);
  const key = readFileSync(path);
  if (key.length !== ROOT_KEY_BYTES) throw new SoloError("INTERNAL", `the token key ${path} holds ${key.length} bytes, not ${ROOT_KEY_BYTES}; restore the right file, or remove it so the host creates a new key (every token granted with the old one stops working)`);
  return key;
}

function fail(path: string, err: unknown): SoloError {
  if (err instanceof SoloError) return err;
  return new SoloError("INTERNAL", `cannot read or create the token key ${path}: ${(err as Error).message}; the host needs to read and write that file`);
}
