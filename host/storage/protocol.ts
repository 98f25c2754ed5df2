// Messages between the host thread and the storage worker that owns RocksDB.
import type { KvWrite } from "./kv-store.ts";
import type { FaultPlan } from "./faults.ts";
import type { IncrementalReport, VerifiedPoint, VerifyReport } from "../events/verify.ts";

export type { IncrementalReport, VerifiedPoint, VerifyReport };

/** What an event is indexed by: tenant, service ("" if none), type. */
export type IndexEntry = [tenant: string, service: string, type: string];

/** A plain record's value: text, bytes (stored as they are), or null to delete the record. */
export type RecordValue = string | Uint8Array | null;

/** Bytes of a segment of event bodies; the worker hands segments of this size back to be reused. */
export const SEGMENT_BYTES = 64 * 1024;

export interface WriteRequest {
  /**
   * Event bodies (JSON, fields in canonical order), in id order, as UTF-8 lines each ending in
   * "\n", in segments that each hold whole lines (transferred buffers); null: no events.
   */
  events: Uint8Array[] | null;
  /** tenant, service ("" if none), type of each event, flattened. */
  index: string[];
  kv: [scope: string, writes: KvWrite[]][];
  /** Plain records (services, artifacts). */
  records: [key: string, value: RecordValue][];
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
  | { t: "record-bytes"; key: string }
  | { t: "verify" }
  | { t: "verify-from"; from?: VerifiedPoint }
  | { t: "probe" }
  | { t: "compact"; beforeTime?: string; keepLast?: number }
  | { t: "faults"; plan: FaultPlan | null }
  | { t: "close" };

export interface Meta {
  lastId: string | null;
  lastHash: string | null;
  checkpoint: { before: string; prev: string } | null;
}
