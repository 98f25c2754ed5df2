// What the host knows of each tenant's quotas and use, on the API thread: the quotas in force
// (defaults, then an operator's override), the fuel bucket, deploys under way and committed kv
// bytes per service. Memory and kv are enforced exactly inside the tenant's worker (all its
// services run on that one thread, one call at a time); this side refuses what it can before a
// call or deploy reaches the worker, and answers usage().
import type { SoloError } from "../errors.ts";
import type { WorkerQuota } from "../runtime/index.ts";
import { FuelBucket } from "./fuel-bucket.ts";
import { quotaError, type TenantQuotas } from "./quotas.ts";

interface TenantState {
  quotas: TenantQuotas;
  /** What an operator set for this tenant (stored under q:<tenant>). */
  override: Partial<TenantQuotas>;
  bucket?: FuelBucket;
  /** Deploys under way: they count against the services quota. */
  deploying: number;
}

export class Governor {
  private readonly tenants = new Map<string, TenantState>();
  /** Committed kv bytes per service key, as last loaded or reported by the worker after a commit. */
  private readonly kvBytes = new Map<string, number>();

  constructor(readonly defaults: TenantQuotas, private readonly now: () => number = () => performance.now()) {}

  private state(tenant: string): TenantState {
    let s = this.tenants.get(tenant);
    // Every field at creation, bucket too: admit() added it later, and that map transition in the
    // hot path kept pointing at a hidden class V8 had since deprecated (the bucket's level became
    // fractional), so V8 retried and abandoned optimizing admit, and the supervisor's call() that
    // inlines it, for good: after a spell of lone calls, 256-in-flight ran at ~220k calls/s with p99
    // ~5 ms instead of ~310k and ~2 ms (--trace-opt: "Maps became deprecated during optimization").
    if (!s) this.tenants.set(tenant, (s = { quotas: this.defaults, override: {}, bucket: undefined, deploying: 0 }));
    return s;
  }

  quotas(tenant: string): TenantQuotas {
    return this.tenants.get(tenant)?.quotas ?? this.defaults;
  }

  override(tenant: string): Partial<TenantQuotas> {
    return { ...(this.tenants.get(tenant)?.override ?? {}) };
  }

  /** Replaces the tenant's override; answers the quotas now in force. */
  setOverride(tenant: string, override: Partial<TenantQuotas>): TenantQuotas {
    const s = this.state(tenant);
    s.override = { ...override };
    s.quotas = { ...this.defaults, ...override };
    s.bucket?.setRate(s.quotas.fuelPerSecond);
    return { ...s.quotas };
  }

  /** What the worker enforces for the tenant. */
  workerQuota(tenant: string): WorkerQuota {
    const q = this.quotas(tenant);
    return { memoryBytes: q.memoryBytes, kvBytes: q.kvBytes, fuelPerCall: q.fuelPerCall, kvKeyBytes: q.kvKeyBytes, kvValueBytes: q.kvValueBytes, kvKeysPerCall: q.kvKeysPerCall };
  }

  /**
   * The hot path: may a call to a service with `inflight` calls and fuel limit `fuel` start now?
   * Answers the fuel reserved for it (its limit, capped by fuelPerCall), which `settle` must get
   * back exactly once when the call has answered, or the error refusing it (nothing reserved).
   */
  admit(tenant: string, inflight: number, fuel: number): SoloError | number {
    const s = this.state(tenant);
    const q = s.quotas;
    if (inflight >= q.queuedCalls) return quotaError(tenant, "queuedCalls", q.queuedCalls, inflight, "the service has as many calls in flight as the tenant's queuedCalls quota allows");
    const units = Math.min(fuel, q.fuelPerCall);
    const bucket = (s.bucket ??= new FuelBucket(q.fuelPerSecond, this.now));
    const wait = bucket.reserve(units);
    if (wait > 0) {
      return quotaError(tenant, "fuelPerSecond", q.fuelPerSecond, bucket.spent() + bucket.reserved(), "the tenant's calls used or hold (in flight, each its fuel limit) all of its fuelPerSecond quota", { retryAfterMs: wait, reserved: bucket.reserved() });
    }
    return units;
  }

  /** A call admitted with `reserved` answered having used `used` fuel. */
  settle(tenant: string, reserved: number, used: number): void {
    this.tenants.get(tenant)?.bucket?.settle(reserved, used);
  }

  /** Units of the current second's budget spent (above the limit: in debt). */
  fuelSpent(tenant: string): number {
    return this.tenants.get(tenant)?.bucket?.spent() ?? 0;
  }

  /** Fuel reserved by the tenant's calls in flight. */
  fuelReserved(tenant: string): number {
    return this.tenants.get(tenant)?.bucket?.reserved() ?? 0;
  }

  /** A deploy starts: SoloError when the tenant already has `services` (listed) at its quota. */
  startDeploy(tenant: string, services: number): SoloError | undefined {
    const s = this.state(tenant);
    const used = services + s.deploying;
    if (used >= s.quotas.services) return quotaError(tenant, "services", s.quotas.services, used, "the tenant has as many services as its services quota allows");
    s.deploying++;
    return undefined;
  }

  endDeploy(tenant: string): void {
    this.state(tenant).deploying--;
  }

  /** A service's committed kv as it was loaded (install, restore, kill). */
  kvLoaded(key: string, entries: [string, string][]): void {
    let n = 0;
    for (const [k, v] of entries) n += Buffer.byteLength(k) + Buffer.byteLength(v);
    this.kvBytes.set(key, n);
  }

  /** A service's kv bytes after a commit, as its worker counted them. */
  kvCommitted(key: string, bytes: number): void {
    this.kvBytes.set(key, bytes);
  }

  forget(key: string): void {
    this.kvBytes.delete(key);
  }

  kvUsed(keys: Iterable<string>): number {
    let n = 0;
    for (const k of keys) n += this.kvBytes.get(k) ?? 0;
    return n;
  }
}
