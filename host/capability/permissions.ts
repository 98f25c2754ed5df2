// What a token may do, and the one check of a request against it (authorize).
import { SoloError } from "../errors.ts";

/** Control-plane permissions. `admin` is every tenant and every permission: the operator's. */
export const PERMISSIONS = ["deploy", "call", "swap", "kill", "read", "grant", "secrets", "admin"] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What a live token allows, as `Capabilities.verify` worked it out. Safe to log: no secret in it. */
export interface Authority {
  /** The token's id (printable; never the token). */
  tokenId: string;
  grantId: string;
  /** The tenant the token acts for; "*" for a grant made with `admin` (every tenant). */
  tenant: string;
  /** True only for an admin grant whose caveats kept `admin` and named no services. */
  admin: boolean;
  permissions: ReadonlySet<Permission>;
  /** Only these services of the tenant; undefined = every service. */
  services?: ReadonlySet<string>;
  /** Epoch ms: the grant's expiry or an earlier one from a caveat. */
  expiresAt: number;
}

export interface Need {
  tenant: string;
  permission: Permission;
  /** undefined: a tenant-wide request (deploy a new name, list, read all events). */
  service?: string;
}

// Same rule as services/names.ts. Not imported from there so that services can import this
// folder without an import cycle.
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const isName = (s: unknown): s is string => typeof s === "string" && NAME.test(s);
export const isPermission = (s: unknown): s is Permission => typeof s === "string" && (PERMISSIONS as readonly string[]).includes(s);

/**
 * Throws PERMISSION_DENIED, naming the first thing missing, unless `a` covers `need`. A pure check:
 * liveness (expiry, revocation) is verify's job, done on every verify.
 */
export function authorize(a: Authority, need: Need): void {
  if (a.admin) return;
  const deny = (missing: "tenant" | "permission" | "service", wanted: string, message: string) => {
    throw new SoloError("PERMISSION_DENIED", message, { missing, need: wanted, tokenId: a.tokenId });
  };
  if (a.tenant !== "*" && a.tenant !== need.tenant) {
    deny("tenant", need.tenant, `token ${a.tokenId} acts for tenant "${a.tenant}", not "${need.tenant}"; use a token granted for tenant "${need.tenant}"`);
  }
  if (!a.permissions.has(need.permission)) {
    deny("permission", need.permission, `token ${a.tokenId} lacks the "${need.permission}" permission (it has: ${[...a.permissions].join(", ") || "none"}); ask for a token that includes it`);
  }
  if (a.services) {
    if (need.service === undefined) {
      deny("service", "*", `token ${a.tokenId} is limited to services ${[...a.services].join(", ")}; this request covers the whole tenant, so it needs a token without a services limit`);
    } else if (!a.services.has(need.service)) {
      deny("service", need.service, `token ${a.tokenId} is limited to services ${[...a.services].join(", ")}, not "${need.service}"; ask for a token that names it`);
    }
  }
}
