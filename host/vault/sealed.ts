// One secret as stored: AES-256-GCM with a fresh 12-byte nonce per write, and the tenant, the
// name and the version as additional data, so a record copied under another tenant or name (or
// with its version changed) fails its tag check instead of answering someone else's plaintext.
// Stored as JSON text under z:<tenant>/<name> (host/storage/layout.ts); ~200 bytes plus the value.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { SoloError } from "../errors.ts";
import type { MasterKey } from "./master-key.ts";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface SealedSecret {
  /** The id of the key it is sealed with (master-key.ts), never the key. */
  key: string;
  /** base64: nonce, ciphertext, tag. */
  nonce: string;
  data: string;
  tag: string;
  /** 1 for the first store of the name, +1 for each store after. */
  version: number;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
}

function additionalData(tenant: string, name: string, version: number): Buffer {
  return Buffer.from(`solo-secret\0${tenant}\0${name}\0${version}`, "utf8");
}

/** Seals `value` for (tenant, name, version) under `key`. ~5 us for a small value. */
export function seal(key: MasterKey, tenant: string, name: string, version: number, value: string, times: { createdAt: number; updatedAt: number }): SealedSecret {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.bytes, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(additionalData(tenant, name, version));
  const data = Buffer.concat([cipher.update(value, "utf8"), cipher.final()]);
  return { key: key.id, nonce: nonce.toString("base64"), data: data.toString("base64"), tag: cipher.getAuthTag().toString("base64"), version, createdAt: times.createdAt, updatedAt: times.updatedAt };
}

/**
 * The value, or INTERNAL: a missing key, a changed byte, or a record moved from another tenant or
 * name all end here, and the message says which secret and what to do (never any of its bytes).
 */
export function unseal(keys: ReadonlyMap<string, MasterKey>, tenant: string, name: string, s: SealedSecret): string {
  const key = keys.get(s.key);
  if (!key) throw new SoloError("INTERNAL", `secret ${name} of tenant ${tenant} is sealed with key ${s.key}, which this host does not hold; start the host with that key (SOLO_MASTER_KEY_PREVIOUS or its master.key), or store the secret again`, { tenant, name, keyId: s.key });
  try {
    const nonce = Buffer.from(s.nonce, "base64");
    const tag = Buffer.from(s.tag, "base64");
    if (nonce.length !== NONCE_BYTES || tag.length !== TAG_BYTES) throw new Error("bad nonce or tag length");
    const decipher = createDecipheriv("aes-256-gcm", key.bytes, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(tenant, name, s.version));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(s.data, "base64")), decipher.final()]).toString("utf8");
  } catch {
    throw new SoloError("INTERNAL", `secret ${name} of tenant ${tenant} does not decrypt: its stored record was changed, or copied from another tenant or name; store the secret again (solo secret put)`, { tenant, name, keyId: s.key });
  }
}

/** A stored record, or undefined when it is not one (a damaged record: left out, reported at read). */
export function parseSealed(text: string): SealedSecret | undefined {
  try {
    const s = JSON.parse(text) as SealedSecret;
    const ok = s && typeof s.key === "string" && typeof s.nonce === "string" && typeof s.data === "string" && typeof s.tag === "string"
      && Number.isSafeInteger(s.version) && s.version > 0 && Number.isSafeInteger(s.createdAt) && Number.isSafeInteger(s.updatedAt);
    return ok ? { key: s.key, nonce: s.nonce, data: s.data, tag: s.tag, version: s.version, createdAt: s.createdAt, updatedAt: s.updatedAt } : undefined;
  } catch {
    return undefined;
  }
}
