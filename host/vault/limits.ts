// What a secret may be: its name (the guest capability rule, so `secret:NAME` names it), its size,
// and how many one tenant may keep.
import { SoloError } from "../errors.ts";
import { CAPABILITY_NAME } from "../capability/guest.ts";

/** Largest value, in UTF-8 bytes: keys, tokens and certificates fit; files do not belong here. */
export const MAX_SECRET_BYTES = 64 * 1024;
/** Secrets per tenant: bounds the records read at open and each install message. */
export const MAX_SECRETS_PER_TENANT = 1000;

export function checkSecretName(name: unknown): string {
  if (typeof name !== "string" || !CAPABILITY_NAME.test(name)) {
    const shown = typeof name === "string" ? JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name) : String(name);
    throw new SoloError("INVALID_ARGUMENT", `secret name ${shown} is invalid: use 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit (the NAME of a secret:NAME capability)`, { field: "name" });
  }
  return name;
}

/** The value's checks; the messages never quote it. */
export function checkSecretValue(value: unknown): string {
  if (typeof value !== "string") throw new SoloError("INVALID_ARGUMENT", "a secret's value must be a string", { field: "value" });
  if (value.length === 0) throw new SoloError("INVALID_ARGUMENT", "a secret's value must not be empty; to delete a secret, remove it (solo secret rm)", { field: "value" });
  if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed()) throw new SoloError("INVALID_ARGUMENT", "a secret's value must be well-formed text (it holds a lone UTF-16 surrogate, which UTF-8 cannot store); encode binary values as base64", { field: "value" });
  const bytes = value.length * 3 <= MAX_SECRET_BYTES ? value.length : Buffer.byteLength(value, "utf8");
  if (bytes > MAX_SECRET_BYTES) throw new SoloError("INVALID_ARGUMENT", `a secret's value is at most ${MAX_SECRET_BYTES} bytes (UTF-8); this one is ${bytes}; keep large data elsewhere and store only its key here`, { field: "value", limitBytes: MAX_SECRET_BYTES, bytes });
  return value;
}
