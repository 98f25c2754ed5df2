// Per-tenant quotas: what all of one tenant's services may use together, on top of each
// service's own limits. The set, its defaults, where they come from (env, Host.open, an admin's
// setQuotas) and the error a tenant past one gets.
import { SoloError } from "../errors.ts";

export interface TenantQuotas {
  /** Linear memory of all the tenant's instances together, in bytes. */
  memoryBytes: number;
  /** Services the tenant may have (listed ones, failed included, and deploys under way). */
  services: number;
  /** Calls in flight or queued per service; past it a call is RESOURCE_EXHAUSTED at once. */
  queuedCalls: number;
  /** The most fuel one call may get: a deploy asking limits.fuel above it is refused. */
  fuelPerCall: number;
  /** Fuel the tenant's calls may use per second (a token bucket whose burst is one second's
   *  worth). Each call in flight holds its fuel limit of it, so it also bounds the tenant's calls
   *  in flight to about fuelPerSecond / fuel limit. */
  fuelPerSecond: number;
  /** kv bytes (keys + values, UTF-8) of all the tenant's services together. */
  kvBytes: number;
  /** UTF-8 bytes of one kv key, over each service's limits.kvMaxKeyBytes (the smaller wins). */
  kvKeyBytes: number;
  /** UTF-8 bytes of one kv value, over each service's limits.kvMaxValueBytes (the smaller wins). */
  kvValueBytes: number;
  /** Keys one kv.keys(prefix) call may answer; past it the guest gets limit-exceeded. */
  kvKeysPerCall: number;
}

export type QuotaName = keyof TenantQuotas;

/**
 * Generous on purpose: a tenant meets them only when an operator lowers them. A tenant's
 * services share one worker thread, which does ~1e10 fuel units a second, so fuelPerSecond is
 * spent only by calls stopped at their deadline (charged their whole fuel limit); what it bounds
 * by default is calls in flight, each holding its fuel limit: 1e12 lets 1,000 calls at the
 * default limit (1e9) be in flight at once, 100 at the largest fuelPerCall (1e10).
 */
export const DEFAULT_QUOTAS: TenantQuotas = {
  memoryBytes: 4 * 1024 * 1024 * 1024,
  services: 1_000,
  queuedCalls: 10_000,
  fuelPerCall: 10_000_000_000,
  fuelPerSecond: 1_000_000_000_000,
  kvBytes: 1024 * 1024 * 1024,
  // The largest a service may ask for (MAX_LIMITS): by default the service's own limits decide.
  kvKeyBytes: 4096,
  kvValueBytes: 64 * 1024 * 1024,
  kvKeysPerCall: 1_000,
};

export const QUOTA_NAMES = Object.keys(DEFAULT_QUOTAS) as QuotaName[];

/** The environment variable that sets each quota's host-wide default. */
export const QUOTA_ENV: Record<QuotaName, string> = {
  memoryBytes: "SOLO_QUOTA_MEMORY_BYTES",
  services: "SOLO_QUOTA_SERVICES",
  queuedCalls: "SOLO_QUOTA_QUEUED_CALLS",
  fuelPerCall: "SOLO_QUOTA_FUEL_PER_CALL",
  fuelPerSecond: "SOLO_QUOTA_FUEL_PER_SECOND",
  kvBytes: "SOLO_QUOTA_KV_BYTES",
  kvKeyBytes: "SOLO_QUOTA_KV_KEY_BYTES",
  kvValueBytes: "SOLO_QUOTA_KV_VALUE_BYTES",
  kvKeysPerCall: "SOLO_QUOTA_KV_KEYS_PER_CALL",
};

/** What a tenant uses against each quota (host.usage). */
export interface TenantUsage {
  tenant: string;
  quotas: {
    /** Used: the memory of the tenant's instances as of each one's last call or start. */
    memoryBytes: { limit: number; used: number };
    /** Used: the tenant's listed services (failed ones included). */
    services: { limit: number; used: number };
    /** Used: the calls in flight of the tenant's busiest service. */
    queuedCalls: { limit: number; used: number };
    fuelPerCall: { limit: number };
    /** Used: units spent of the bucket now (limit minus its level); above the limit, the tenant is in debt and throttled.
     *  Reserved: the fuel limits of the tenant's calls in flight, held until each answers (0 when none is). */
    fuelPerSecond: { limit: number; used: number; reserved: number };
    /** Used: committed kv bytes of all the tenant's services. */
    kvBytes: { limit: number; used: number };
    kvKeyBytes: { limit: number };
    kvValueBytes: { limit: number };
    kvKeysPerCall: { limit: number };
  };
}

const valid = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v > 0;

/**
 * Checks a partial set of quotas (from Host.open or setQuotas); INVALID_ARGUMENT names the first
 * bad one as `<field>.<quota>`. Answers only the quotas it was given.
 */
export function checkQuotas(asked: unknown, field = "quotas"): Partial<TenantQuotas> {
  if (asked === undefined) return {};
  if (typeof asked !== "object" || asked === null || Array.isArray(asked)) throw new SoloError("INVALID_ARGUMENT", `${field} must be an object of quotas (${QUOTA_NAMES.join(", ")})`, { field });
  const out: Partial<TenantQuotas> = {};
  for (const [name, value] of Object.entries(asked)) {
    // Own properties only: `in` would accept "constructor" or "__proto__".
    if (!Object.hasOwn(DEFAULT_QUOTAS, name)) throw new SoloError("INVALID_ARGUMENT", `unknown quota "${name}"; known: ${QUOTA_NAMES.join(", ")}`, { field: `${field}.${name}` });
    if (!valid(value)) throw new SoloError("INVALID_ARGUMENT", `${field}.${name} must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}; got ${String(value)}`, { field: `${field}.${name}` });
    out[name as QuotaName] = value;
  }
  return out;
}

/** The defaults the environment sets over DEFAULT_QUOTAS; a bad value is INVALID_ARGUMENT naming its variable. */
export function quotasFromEnv(env: NodeJS.ProcessEnv = process.env): TenantQuotas {
  const out = { ...DEFAULT_QUOTAS };
  for (const name of QUOTA_NAMES) {
    const variable = QUOTA_ENV[name];
    const raw = env[variable];
    if (raw === undefined || raw === "") continue;
    const value = /^[0-9]{1,16}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!valid(value)) throw new SoloError("INVALID_ARGUMENT", `environment variable ${variable} must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}; got ${JSON.stringify(raw)}; fix or unset it`, { field: variable });
    out[name] = value;
  }
  return out;
}

/** What a tenant is told to do past each quota. */
const ADVICE: Record<QuotaName, string> = {
  memoryBytes: "use less memory, kill one of its services, or ask an operator to raise the quota (setQuotas)",
  services: "kill a service first, or ask an operator to raise the quota (setQuotas)",
  queuedCalls: "wait for the service's calls in flight to answer before sending more, or ask an operator to raise the quota",
  fuelPerCall: "ask for less limits.fuel, or ask an operator to raise the quota",
  fuelPerSecond: "wait details.retryAfterMs before calling again, make calls do less work, or ask an operator to raise the quota",
  kvBytes: "delete kv entries in any of the tenant's services, or ask an operator to raise the quota",
  kvKeyBytes: "use shorter keys, or ask an operator to raise the quota",
  kvValueBytes: "store smaller values (split them over several keys), or ask an operator to raise the quota",
  kvKeysPerCall: "list with a longer prefix, or ask an operator to raise the quota",
};

/**
 * The error a tenant past a quota gets: RESOURCE_EXHAUSTED (MEMORY_LIMIT for memory a call tried
 * to grow), details `{ quota, limit, used, tenant }` and more (retryAfterMs).
 */
export function quotaError(tenant: string, quota: QuotaName, limit: number, used: number, what: string, extra: Record<string, unknown> = {}, code: "RESOURCE_EXHAUSTED" | "MEMORY_LIMIT" = "RESOURCE_EXHAUSTED"): SoloError {
  return new SoloError(code, `${what}: tenant ${tenant}'s ${quota} quota is ${limit} and it uses ${used}; ${ADVICE[quota]}`, { quota, limit, used, tenant, ...extra });
}
