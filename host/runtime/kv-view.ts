// A service's kv as one call sees it inside a worker: the worker's copy plus this call's own
// writes (read-your-writes). The writes are kept apart until the call succeeds; a failed or
// trapped call's writes are dropped. Quota: total bytes of keys + values per service.
//
// Sizes are UTF-8 bytes, as stored on disk (a limit counted in UTF-16 units let a "1 MiB" value
// take 3 MB). Strings that are not well-formed UTF-16 (lone surrogates) are refused: UTF-8 cannot
// hold them, so two different keys would become one on disk.
import { fail, ok, type WitResult } from "./guest-env.ts";

export interface KvLimits {
  /** UTF-8 bytes of one key. */
  maxKeyBytes: number;
  /** UTF-8 bytes of one value. */
  maxValueBytes: number;
  /** Sum of key and value UTF-8 bytes over the service's whole store. */
  maxTotalBytes: number;
}

/**
 * The kv bytes of all of one tenant's services on this worker, and its quota: every view of the
 * tenant adds its committed bytes here. Calls on a worker run one at a time, so the sum plus the
 * running call's pending writes is exact.
 */
export interface TenantKv {
  tenant: string;
  kvLimitBytes: number;
  kvBytes: number;
  /** The tenant's per-key and per-value quotas (over each service's own limits) and keys() cap. */
  kvKeyBytes: number;
  kvValueBytes: number;
  kvKeysPerCall: number;
  /**
   * Pending (uncommitted) bytes of the calls below the running one on the worker's call stack: a
   * callee's set counts its callers' writes too (runtime/service-calls.ts).
   */
  kvPending: number;
}

/** keys() answers at most this many keys when no tenant quota says otherwise. */
export const DEFAULT_KEYS_PER_CALL = 1000;

import type { KvWrite } from "../storage/index.ts"; export type { KvWrite }; // a value, or null for a delete

// ES2024, in Node 20 but not in the ES2023 lib this project type-checks against.
const isWellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** UTF-8 bytes of a well-formed string (native, one pass; no copy). */
const bytes = (s: string): number => Buffer.byteLength(s, "utf8");

const notWellFormed = (what: string) => fail<never>("invalid", `kv ${what} is not well-formed UTF-16 (a lone surrogate); it cannot be stored as UTF-8`);

export class KvView {
  private readonly base: Map<string, string>;
  private writes = new Map<string, string | null>();
  private baseBytes = 0;
  private delta = 0;

  constructor(entries: Iterable<[string, string]>, private limits: KvLimits, private readonly shared?: TenantKv) {
    this.base = new Map();
    this.reset(entries);
  }

  /** The limits in force: a swap's new version brings its own (set while it runs a step, then at its switch). */
  get currentLimits(): KvLimits {
    return this.limits;
  }
  setLimits(limits: KvLimits): void {
    this.limits = limits;
  }

  /** Entries a keys() call looks at: the copy's and this call's pending writes. */
  get count(): number {
    return this.base.size + this.writes.size;
  }

  /** Replaces the copy with the host's committed state (after a failed commit). */
  reset(entries: Iterable<[string, string]>): void {
    const old = this.baseBytes;
    this.base.clear();
    this.baseBytes = 0;
    for (const [k, v] of entries) {
      this.base.set(k, v);
      this.baseBytes += bytes(k) + bytes(v);
    }
    if (this.shared) this.shared.kvBytes += this.baseBytes - old;
    this.begin();
  }

  /** UTF-8 bytes of every key and value, this call's writes included. */
  get totalBytes(): number {
    return this.baseBytes + this.delta;
  }

  /** Bytes this call's pending writes add (negative: they free some). */
  get pendingBytes(): number {
    return this.delta;
  }

  /** Starts a call: no pending writes. */
  begin(): void {
    this.writes.clear();
    this.delta = 0;
  }

  /** Ends a successful call: applies its writes to the copy and returns them for the host. */
  commit(): KvWrite[] | undefined {
    if (this.writes.size === 0) return undefined;
    const out: KvWrite[] = [];
    for (const [k, v] of this.writes) {
      if (v === null) this.base.delete(k);
      else this.base.set(k, v);
      out.push([k, v]);
    }
    this.baseBytes += this.delta;
    if (this.shared) this.shared.kvBytes += this.delta;
    this.begin();
    return out;
  }

  /** The service is gone from the worker: its bytes leave the tenant's sum. */
  dispose(): void {
    if (this.shared) this.shared.kvBytes -= this.baseBytes;
    this.baseBytes = 0;
    this.base.clear();
    this.begin();
  }

  get(key: string): WitResult<string | undefined> {
    if (!isWellFormed(key)) return notWellFormed("key");
    const w = this.writes.get(key);
    if (w !== undefined) return ok(w === null ? undefined : w);
    return ok(this.base.get(key));
  }

  set(key: string, value: string): WitResult<void> {
    const { maxTotalBytes } = this.limits;
    const t = this.shared;
    // The smaller of the service's limit and its tenant's quota; the message names the one that bit.
    const keyQuota = t !== undefined && t.kvKeyBytes < this.limits.maxKeyBytes;
    const valueQuota = t !== undefined && t.kvValueBytes < this.limits.maxValueBytes;
    const maxKeyBytes = keyQuota ? t!.kvKeyBytes : this.limits.maxKeyBytes;
    const maxValueBytes = valueQuota ? t!.kvValueBytes : this.limits.maxValueBytes;
    if (!isWellFormed(key)) return notWellFormed("key");
    if (!isWellFormed(value)) return notWellFormed("value");
    // UTF-8 takes 1 to 3 bytes per UTF-16 unit, so length bounds the size from both sides.
    const keyBytes = bytes(key);
    if (keyBytes === 0 || keyBytes > maxKeyBytes) return fail("invalid", `kv key is ${keyBytes} bytes of UTF-8; a key must be 1..${maxKeyBytes} bytes (${keyQuota ? `tenant ${t!.tenant}'s kvKeyBytes quota` : "limits.kvMaxKeyBytes"})`);
    const valueLimit = valueQuota ? `tenant ${t!.tenant}'s kvValueBytes quota` : "limits.kvMaxValueBytes";
    // A value far over its limit is refused without measuring it all: its size is at least its length.
    if (value.length > maxValueBytes) return fail("limit-exceeded", `kv value is at least ${value.length} bytes of UTF-8; the limit is ${maxValueBytes} (${valueLimit})`);
    const valueBytes = bytes(value);
    if (valueBytes > maxValueBytes) return fail("limit-exceeded", `kv value is ${valueBytes} bytes of UTF-8; the limit is ${maxValueBytes} (${valueLimit})`);
    const before = this.current(key);
    const change = keyBytes + valueBytes - (before === undefined ? 0 : keyBytes + bytes(before));
    if (this.totalBytes + change > maxTotalBytes) {
      return fail("limit-exceeded", `kv store would hold ${this.totalBytes + change} bytes; the service's limit is ${maxTotalBytes}`);
    }
    if (t && change > 0) {
      const held = t.kvBytes + t.kvPending + this.delta + change;
      if (held > t.kvLimitBytes) return fail("limit-exceeded", `the kv stores of tenant ${t.tenant} would hold ${held} bytes; the tenant's kvBytes quota is ${t.kvLimitBytes}; delete entries in any of its services or ask an operator to raise the quota`);
    }
    this.writes.set(key, value);
    this.delta += change;
    return ok(undefined);
  }

  delete(key: string): WitResult<void> {
    if (!isWellFormed(key)) return notWellFormed("key");
    const before = this.current(key);
    if (before !== undefined) this.delta -= bytes(key) + bytes(before);
    this.writes.set(key, null);
    return ok(undefined);
  }

  /**
   * The keys that start with prefix, sorted. Bounded: past the tenant's kvKeysPerCall quota
   * (default 1000) it answers limit-exceeded instead of a list (the WIT signature has no cursor),
   * so one call never copies millions of keys into the guest; a longer prefix narrows it.
   */
  keys(prefix: string): WitResult<string[]> {
    if (!isWellFormed(prefix)) return notWellFormed("prefix");
    const cap = this.shared?.kvKeysPerCall ?? DEFAULT_KEYS_PER_CALL;
    // Counted first, without copying: a refusal costs one pass over the keys (charged already).
    let n = 0;
    for (const k of this.base.keys()) if (k.startsWith(prefix) && this.writes.get(k) !== null) n++;
    for (const [k, v] of this.writes) if (v !== null && k.startsWith(prefix) && !this.base.has(k)) n++;
    if (n > cap) {
      const shown = prefix.length > 64 ? `${prefix.slice(0, 64)}...` : prefix;
      return fail("limit-exceeded", `${n} keys start with ${JSON.stringify(shown)}; kv.keys answers at most ${cap} (the tenant's kvKeysPerCall quota); ask with a longer prefix to list fewer at a time`);
    }
    const out = new Set<string>();
    for (const k of this.base.keys()) if (k.startsWith(prefix)) out.add(k);
    for (const [k, v] of this.writes) {
      if (!k.startsWith(prefix)) continue;
      if (v === null) out.delete(k);
      else out.add(k);
    }
    return ok([...out].sort());
  }

  private current(key: string): string | undefined {
    const w = this.writes.get(key);
    if (w !== undefined) return w === null ? undefined : w;
    return this.base.get(key);
  }
}
