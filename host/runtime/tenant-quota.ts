// One tenant's quota and use inside its worker: the memory of all its instances and the bytes of
// all its kv stores. Every service of a tenant runs on one worker, one call at a time, so these
// sums are exact, and a call's memory cap (its own limit, or what the quota leaves it) is known
// before it starts. The host sends the quota (QuotaMessage) before the tenant's first install.
import { SoloError } from "../errors.ts";
import { DEFAULT_KEYS_PER_CALL, type TenantKv } from "./kv-view.ts";
import type { WorkerQuota } from "./protocol.ts";

export interface TenantState extends TenantKv {
  quota: WorkerQuota;
  /** Linear memory of the tenant's live instances on this worker. */
  memoryBytes: number;
}

const tenants = new Map<string, TenantState>();

/** The tenant a service key ("tenant/service") belongs to; no quota until the host sends one. */
export function tenantOf(key: string): TenantState {
  const name = key.slice(0, key.indexOf("/"));
  let t = tenants.get(name);
  if (!t) {
    const quota: WorkerQuota = { memoryBytes: Infinity, kvBytes: Infinity, fuelPerCall: Infinity, kvKeyBytes: Infinity, kvValueBytes: Infinity, kvKeysPerCall: DEFAULT_KEYS_PER_CALL };
    tenants.set(name, (t = { tenant: name, quota, kvLimitBytes: Infinity, kvBytes: 0, kvKeyBytes: Infinity, kvValueBytes: Infinity, kvKeysPerCall: DEFAULT_KEYS_PER_CALL, kvPending: 0, memoryBytes: 0 }));
  }
  return t;
}

export function setTenantQuota(tenant: string, quota: WorkerQuota): void {
  const t = tenantOf(`${tenant}/`);
  t.quota = quota;
  t.kvLimitBytes = quota.kvBytes;
  t.kvKeyBytes = quota.kvKeyBytes;
  t.kvValueBytes = quota.kvValueBytes;
  t.kvKeysPerCall = quota.kvKeysPerCall;
}

/**
 * An instance was refused memory it would have had under its own limit: the tenant's other
 * instances hold the rest of the quota. `memoryBytes` is what the instance has (or would start
 * with); `others` what the tenant's other instances hold. MEMORY_LIMIT in a call, and
 * RESOURCE_EXHAUSTED for a deploy (`deploying`).
 */
export function memoryQuotaError(t: TenantState, memoryBytes: number, others: number, deploying: boolean): SoloError {
  const limit = t.quota.memoryBytes;
  const used = others + memoryBytes;
  const what = deploying
    ? `deploying this service would give tenant ${t.tenant}'s instances ${used} bytes of memory (this one ${memoryBytes})`
    : `the call tried to grow its instance (${memoryBytes} bytes) past what tenant ${t.tenant}'s memory quota leaves it`;
  return new SoloError(deploying ? "RESOURCE_EXHAUSTED" : "MEMORY_LIMIT", `${what}: tenant ${t.tenant}'s memoryBytes quota is ${limit} and its instances use ${used}; use less memory, kill one of its services, or ask an operator to raise the quota (setQuotas)`, { quota: "memoryBytes", limit, used, tenant: t.tenant, memoryBytes });
}
