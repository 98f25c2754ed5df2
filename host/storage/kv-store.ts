// Where services' committed kv state lives. The worker holds a copy for synchronous reads; the
// host commits each successful call's writes here, atomically, before the call's reply.
import type { Storage } from "./storage.ts";

/** A kv write: a value, or null for a delete. */
export type KvWrite = [key: string, value: string | null];

export interface KvStore {
  /** Every entry of one service, in key order. */
  load(scope: string): Promise<[string, string][]>;
  /** Applies one call's writes atomically and durably; resolves when they are committed. */
  commit(scope: string, writes: KvWrite[]): Promise<void>;
  /** Removes a service's whole store. */
  drop(scope: string): Promise<void>;
}

/** kv in RocksDB: a commit joins the next group-committed batch (one fdatasync for many). */
export class RocksKvStore implements KvStore {
  constructor(private readonly storage: Storage) {}
  load(scope: string) {
    return this.storage.kvLoad(scope);
  }
  commit(scope: string, writes: KvWrite[]) {
    return this.storage.write({ kv: [scope, writes] });
  }
  drop(scope: string) {
    return this.storage.kvDrop(scope);
  }
}
