// The operator's token for `solo start`: made on first start, kept in <dataDir>/admin.token with
// mode 0600, so a local operator (or the CLI as a client) can read it and nobody else can. Its
// value is never printed; a token in the file that no longer works (revoked, expired, or from a
// data directory whose key was replaced) is replaced by a new one.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Host } from "../host.ts";

/** Ten years: the operator's token lasts as long as the data directory, until revoked. */
const ADMIN_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

export async function ensureAdminToken(host: Host): Promise<{ path: string; created: boolean }> {
  const path = join(host.dataDir, "admin.token");
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const token = readFileSync(path, "utf8").trim();
    try {
      if (host.session(token).whoami().admin) return { path, created: false };
    } catch {
      // Not a live token any more: a new one replaces it below.
    }
  }
  const { token } = await host.grant({ tenant: "*", permissions: ["admin"], ttlMs: ADMIN_TTL_MS, note: "operator token made by solo start" });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, token + "\n", { mode: 0o600 });
  renameSync(tmp, path);
  return { path, created: true };
}
