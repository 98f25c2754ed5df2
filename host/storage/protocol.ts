// Messages between the host thread and the storage worker that owns RocksDB.
import type { KvWrite } from "../runtime/kv-view.ts";

/** What an event is indexed by: tenant, service ("" if none), type. */
export type IndexEntry = [tenant: string, service: string, type: string];

export interface WriteRequest {
  /** Event bodies (JSON, fields in canonical order), in id order, joined by "\n". */
  events: string;
  /** tenant, service ("" if none), type of each event, flattened. */
  index: string[];
  kv: [scope: string, writes: KvWrite[]][];
  /** Plain records (services, artifacts): a value, or null to delete. */
  records: [key: string, value: string | null][];
}

export interface EventQuery {
  tenant?: string;
  service?: string;
  type?: string;
  /** Only events with id > after. */
  after?: string;
  /** Only events with id < before. */
  before?: string;
  limit: number;
}

export type StorageRequest =
  | { t: "init" }
  | { t: "write"; write: WriteRequest }
  | { t: "query"; query: EventQuery }
  | { t: "get"; id: string }
  | { t: "kv-load"; scope: string }
  | { t: "kv-drop"; scope: string }
  | { t: "records"; prefix: string }
  | { t: "verify" }
  | { t: "compact"; beforeTime?: string; keepLast?: number }
  | { t: "close" };

export interface Meta {
  lastId: string | null;
  lastHash: string | null;
  checkpoint: { before: string; prev: string } | null;
}

export interface VerifyReport {
  ok: boolean;
  /** Events whose links were checked. */
  checked: number;
  /** The first event whose link is broken, and why. */
  brokenAt?: string;
  reason?: string;
}
