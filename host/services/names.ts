// Tenant and service names: short, lowercase, safe in keys, paths and URLs.
import { SoloError } from "../errors.ts";

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function checkName(kind: "tenant" | "service", value: unknown): string {
  if (typeof value !== "string" || !NAME.test(value)) {
    throw new SoloError("INVALID_ARGUMENT", `${kind} name ${JSON.stringify(value)} is invalid: use 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit`, { field: kind });
  }
  return value;
}
