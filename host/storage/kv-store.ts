// Where services' committed kv state lives. The worker holds a copy for synchronous reads; the
// host commits each successful call's writes here, atomically, before the call's reply.
import type { KvWrite } from "../runtime/kv-view.ts";

export interface KvStore {
  /** Every entry of one service, in key order. */
  load(scope: string): Promise<[string, string][]>;
  /** Applies one call's writes atomically and durably; resolves when they are committed. */
  commit(scope: string, writes: KvWrite[]): Promise<void>;
  /** Removes a service's whole store. */
  drop(scope: string): Promise<void>;
}

/** Keeps kv in this process's memory: state lives as long as the Host. */
export class MemoryKvStore implements KvStore {
  private readonly scopes = new Map<string, Map<string, string>>();

  async load(scope: string): Promise<[string, string][]> {
    return [...(this.scopes.get(scope) ?? new Map<string, string>())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async commit(scope: string, writes: KvWrite[]): Promise<void> {
    let map = this.scopes.get(scope);
    if (!map) this.scopes.set(scope, (map = new Map()));
    for (const [k, v] of writes) {
      if (v === null) map.delete(k);
      else map.set(k, v);
    }
  }

  async drop(scope: string): Promise<void> {
    this.scopes.delete(scope);
  }
}
