// A service's kv as one call sees it inside a worker: the worker's copy plus this call's own
// writes (read-your-writes). The writes are kept apart until the call succeeds; a failed or
// trapped call's writes are dropped. Quota: total bytes of keys + values per service.
import { fail, ok, type WitResult } from "./guest-env.ts";

export interface KvLimits {
  maxKeyBytes: number;
  maxValueBytes: number;
  /** Sum of key and value lengths over the service's whole store. */
  maxTotalBytes: number;
}

/** A write as it travels back to the host: a value, or null for a delete. */
export type KvWrite = [key: string, value: string | null];

export class KvView {
  private readonly base: Map<string, string>;
  private writes = new Map<string, string | null>();
  private baseBytes = 0;
  private delta = 0;

  constructor(entries: Iterable<[string, string]>, private readonly limits: KvLimits) {
    this.base = new Map();
    this.reset(entries);
  }

  /** Replaces the copy with the host's committed state (after a failed commit). */
  reset(entries: Iterable<[string, string]>): void {
    this.base.clear();
    this.baseBytes = 0;
    for (const [k, v] of entries) {
      this.base.set(k, v);
      this.baseBytes += k.length + v.length;
    }
    this.begin();
  }

  get totalBytes(): number {
    return this.baseBytes + this.delta;
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
    this.begin();
    return out;
  }

  get(key: string): WitResult<string | undefined> {
    const w = this.writes.get(key);
    if (w !== undefined) return ok(w === null ? undefined : w);
    return ok(this.base.get(key));
  }

  set(key: string, value: string): WitResult<void> {
    if (key.length === 0 || key.length > this.limits.maxKeyBytes) return fail("invalid", `kv key must be 1..${this.limits.maxKeyBytes} characters`);
    if (value.length > this.limits.maxValueBytes) return fail("limit-exceeded", `kv value is ${value.length} characters; the limit is ${this.limits.maxValueBytes}`);
    const before = this.current(key);
    const change = key.length + value.length - (before === undefined ? 0 : key.length + before.length);
    if (this.totalBytes + change > this.limits.maxTotalBytes) {
      return fail("limit-exceeded", `kv store would hold ${this.totalBytes + change} bytes; the service's limit is ${this.limits.maxTotalBytes}`);
    }
    this.writes.set(key, value);
    this.delta += change;
    return ok(undefined);
  }

  delete(key: string): WitResult<void> {
    const before = this.current(key);
    if (before !== undefined) this.delta -= key.length + before.length;
    this.writes.set(key, null);
    return ok(undefined);
  }

  keys(prefix: string): WitResult<string[]> {
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
