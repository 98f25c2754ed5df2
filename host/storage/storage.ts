// The host side of the storage worker: one RocksDB in <dataDir>/db, reached by messages.
// Writes made in one tick of the host thread travel as one message and land in one synced
// batch with whatever else the worker has queued (group commit). A write resolves once durable.
// Event bodies are written as UTF-8 into 64 KB segments as they come (~0.1-0.3 us each) and the
// segments are transferred, not copied: joining 1024 bodies into one string and cloning it cost
// ~2-4 ms of this thread in one go (a 370 KB string alone takes ~1.3 ms to make).
import { Worker } from "node:worker_threads";
import { SoloError } from "../errors.ts";
import type { FaultPlan } from "./faults.ts";
import { NO_ROOM, writeJson } from "./json-writer.ts";
import type { KvWrite } from "./kv-store.ts";
import { SEGMENT_BYTES, type EventQuery, type IncrementalReport, type IndexEntry, type Meta, type RecordValue, type StorageRequest, type VerifiedPoint, type VerifyReport, type WriteRequest } from "./protocol.ts";

const ENTRY = new URL("./worker-entry.mjs", import.meta.url);
/** Events per message to the worker: bigger chunks cost fewer messages, smaller ones overlap more. */
const CHUNK = 1024;
/** Bytes of a segment of event bodies (a bigger body gets a segment of its own size). */
const SEGMENT = SEGMENT_BYTES;
/**
 * Segments the worker handed back, kept to be written again: a fresh one costs a page fault per
 * 4 KB on this thread when first written (~16 per segment; about a third as many faults on this
 * thread under a steady load of appends). 64 of them (4 MB) outnumber the segments a steady load
 * has in flight (one per turn of the loop until its batch is durable).
 */
const SPARE_SEGMENTS = 64;

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: SoloError) => void;
}

export class Storage {
  private readonly waiters = new Map<number, Waiter>();
  private nextId = 1;
  /** Bodies of the events queued, UTF-8, each followed by "\n": full segments, then `bytes` up to `used`. */
  private segments: Uint8Array[] = [];
  private bytes: Buffer = Buffer.allocUnsafeSlow(SEGMENT);
  private used = 0;
  private count = 0;
  private index: string[] = [];
  private kv: [string, KvWrite[]][] = [];
  private records: [string, RecordValue][] = [];
  private readonly spare: ArrayBuffer[] = [];
  /** One promise per group commit, shared by every write in it; `started`: its first write (ms, for onBatch). */
  private batch: { promise: Promise<void>; resolve: () => void; reject: (e: SoloError) => void; started: number } | undefined;
  private closed = false;
  /**
   * Told of each batch with events once it is durable: how many events, and the seconds from its
   * first write to durable (what an append waits). Telemetry; one clock read per batch.
   */
  onBatch: ((events: number, seconds: number) => void) | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (m: { id: number; ok: boolean; value?: unknown; error?: string; free?: ArrayBuffer[] }) => {
      if (m.free) for (const b of m.free) if (this.spare.length < SPARE_SEGMENTS) this.spare.push(b);
      const w = this.waiters.get(m.id);
      if (!w) return;
      this.waiters.delete(m.id);
      if (m.ok) w.resolve(m.value);
      else w.reject(new SoloError("INTERNAL", `storage: ${m.error}`));
    });
    worker.on("error", (err) => this.failAll(new SoloError("INTERNAL", `storage worker failed: ${err.message}`)));
    worker.on("exit", () => this.failAll(new SoloError("UNAVAILABLE", "storage is closed")));
  }

  /** Opens (creating if needed) the database in `dir`. ~50-100 ms: a thread and a RocksDB open. */
  static async open(dir: string): Promise<Storage> {
    const worker = new Worker(ENTRY, { workerData: { dir } });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: { id: number }) => {
        if (m.id === 0) {
          worker.off("error", onError);
          resolve();
        }
      };
      const onError = (err: Error) => {
        const cause = (err as Error & { cause?: Error }).cause?.message;
        const detail = cause ? `${err.message} (${cause})` : err.message;
        const hint = /lock/i.test(detail) ? "; another Solo host is using this data directory" : "";
        reject(new SoloError("UNAVAILABLE", `cannot open the database in ${dir}: ${detail}${hint}`));
      };
      worker.once("message", onMessage);
      worker.once("error", onError);
    });
    return new Storage(worker);
  }

  private request<T>(req: StorageRequest, transfer?: ArrayBuffer[]): Promise<T> {
    if (this.closed) return Promise.reject(new SoloError("UNAVAILABLE", "storage is closed"));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiters.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, req }, transfer);
    });
  }

  /**
   * Queues writes for the next group commit: an event body (in id order) with its index entry,
   * a call's kv writes, and/or plain records (text, bytes, or null to delete). Writes queued in
   * one tick are one atomic batch; everything given in one call always is.
   */
  write(w: { event?: [event: object, index: IndexEntry]; kv?: [string, KvWrite[]]; records?: [string, RecordValue][] }): Promise<void> {
    if (this.closed) return Promise.reject(new SoloError("UNAVAILABLE", "storage is closed"));
    if (w.event) this.queueEvent(w.event[0], w.event[1][0], w.event[1][1], w.event[1][2]);
    if (w.kv) this.kv.push(w.kv);
    if (w.records) this.records.push(...w.records);
    return this.queued();
  }

  /** write({ event: [event, [tenant, service, type]] }) without the request's objects: an append's one call. */
  writeEvent(event: object, tenant: string, service: string, type: string): Promise<void> {
    if (this.closed) return Promise.reject(new SoloError("UNAVAILABLE", "storage is closed"));
    this.queueEvent(event, tenant, service, type);
    return this.queued();
  }

  /**
   * The event's body is its JSON, written into the segment as it is made (json-writer.ts); an
   * event that is not plain data (or bigger than a segment) goes through JSON.stringify, which
   * also throws what it throws (a cycle, a bigint) before anything is queued.
   */
  private queueEvent(event: object, tenant: string, service: string, type: string) {
    // One byte is kept for the "\n" after the body.
    let end = writeJson(event, this.bytes, this.used, this.bytes.length - 1);
    if (end === NO_ROOM && this.used > 0) {
      this.nextSegment(0);
      end = writeJson(event, this.bytes, 0, this.bytes.length - 1);
    }
    if (end < 0) {
      const body = JSON.stringify(event);
      // A UTF-16 unit is at most 3 UTF-8 bytes, so this room always fits the body.
      if (this.used + 3 * body.length + 1 > this.bytes.length) this.nextSegment(3 * body.length + 1);
      end = this.used + this.bytes.write(body, this.used);
    }
    this.used = end;
    this.bytes[this.used++] = 10;
    this.count++;
    this.index.push(tenant, service, type);
  }

  /** The promise of the group commit what was just queued joins. */
  private queued(): Promise<void> {
    const current = this.batch;
    // A full chunk goes now, so the worker writes it while this thread makes the next one.
    if (current && this.count >= CHUNK) {
      this.flush();
      return current.promise;
    }
    if (!this.batch) {
      let resolve!: () => void;
      let reject!: (e: SoloError) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.batch = { promise, resolve, reject, started: this.onBatch ? performance.now() : 0 };
      setImmediate(() => this.flush());
    }
    return this.batch.promise;
  }

  private nextSegment(need: number) {
    if (this.used > 0) this.segments.push(new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.used));
    else if (this.bytes.byteLength === SEGMENT && this.spare.length < SPARE_SEGMENTS) this.spare.push(this.bytes.buffer as ArrayBuffer); // unused: kept
    const spare = need <= SEGMENT ? this.spare.pop() : undefined;
    this.bytes = spare ? Buffer.from(spare) : Buffer.allocUnsafeSlow(Math.max(SEGMENT, need));
    this.used = 0;
  }

  private flush() {
    const batch = this.batch;
    if (!batch) return;
    // The segments go to the worker transferred: this thread loses them, nothing is copied.
    const count = this.count;
    let segments: Uint8Array[] | null = null;
    if (count > 0) {
      this.nextSegment(0);
      segments = this.segments;
      this.segments = [];
    }
    const write: WriteRequest = { events: segments, index: this.index, kv: this.kv, records: this.records };
    this.count = 0;
    this.batch = undefined;
    this.index = [];
    this.kv = [];
    this.records = [];
    const onBatch = this.onBatch;
    const done = onBatch && count > 0 && batch.started > 0 ? () => (onBatch(count, (performance.now() - batch.started) / 1000), batch.resolve()) : batch.resolve;
    this.request<void>({ t: "write", write }, segments?.map((b) => b.buffer as ArrayBuffer)).then(done, batch.reject);
  }

  meta(): Promise<Meta> {
    return this.request({ t: "init" });
  }

  query(q: EventQuery): Promise<Record<string, unknown>[]> {
    return this.request({ t: "query", query: q });
  }

  get(id: string): Promise<Record<string, unknown> | null> {
    return this.request({ t: "get", id });
  }

  kvLoad(scope: string): Promise<[string, string][]> {
    return this.request({ t: "kv-load", scope });
  }

  /** Every record whose key starts with prefix, in key order, as text (use recordBytes for bytes). */
  recordsWithPrefix(prefix: string): Promise<[string, string][]> {
    return this.request({ t: "records", prefix });
  }

  /** One record's value as bytes (a record written as text comes back as its UTF-8); null if absent. */
  recordBytes(key: string): Promise<Uint8Array | null> {
    return this.request({ t: "record-bytes", key });
  }

  /**
   * Test only: makes the worker fail the operations the plan picks (null: none) as a RocksDB error
   * would; a failed write fails its whole batch. Applies to operations the worker takes after it.
   */
  injectFaults(plan: FaultPlan | null): Promise<void> {
    return this.request({ t: "faults", plan });
  }

  kvDrop(scope: string): Promise<void> {
    return this.request({ t: "kv-drop", scope });
  }

  verify(): Promise<VerifyReport> {
    return this.request({ t: "verify" });
  }

  /** Verifies the events appended after `from` (the whole log without it); see IncrementalReport. */
  verifyFrom(from?: VerifiedPoint): Promise<IncrementalReport> {
    return this.request({ t: "verify-from", ...(from && { from }) });
  }

  /** A synced write and a read of one record (m:probe): rejects when the database does not take writes. */
  probe(): Promise<{ wroteMs: number }> {
    return this.request({ t: "probe" });
  }

  compact(options: { beforeTime?: string; keepLast?: number }): Promise<{ removed: number }> {
    return this.request({ t: "compact", ...options });
  }

  /** Flushes pending writes, closes the database and stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    await this.request({ t: "close" }).catch(() => {});
    this.closed = true;
    await this.worker.terminate();
  }

  private failAll(err: SoloError) {
    this.closed = true;
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
  }
}
