// Content hashes that name artifacts (components, metered modules) in every cache.
import { createHash } from "node:crypto";

/** sha256 of the parts, each followed by a NUL, as hex. */
export function sha256(...parts: (Uint8Array | string)[]): string {
  const h = createHash("sha256");
  for (const p of parts) {
    h.update(p);
    h.update("\0");
  }
  return h.digest("hex");
}
