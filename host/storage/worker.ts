// The storage worker: owns the RocksDB handle, so the native writes (which block the thread
// they run on, fsync included) never stall the API thread. Writes that arrive in one turn of
// this thread's loop go to disk as one synced batch (group commit); each is acknowledged only
// after that batch is durable. What the event keys hold (chain, indexes) and how they are
// verified and compacted is decided in host/events; this file only reads and writes them.
import { parentPort, workerData } from "node:worker_threads";
import { RocksLevel } from "@nxtedition/rocksdb";
import { GENESIS, chainBatch, idOf, linkOf } from "../events/chain.ts";
import { batchIndex, entryLines } from "../events/index-format.ts";
import { verifyChain, type IncrementalReport, type StoredBatch, type VerifiedPoint, type VerifyReport } from "../events/verify.ts";
import { batchesToDrop, isStaleIndexKey, summarize, type BatchSummary } from "../events/compact.ts";
import { Faults } from "./faults.ts";
import { ReusedBatch, type WriteOp } from "./write-batch.ts";
import { BATCHES, CHECKPOINT, END, LAST, PROBE, batchKey, hashKey, kvRange, prefixRange, serviceIndex, tenantIndex, typeIndex } from "./layout.ts";
import { SEGMENT_BYTES, type EventQuery, type Meta, type StorageRequest, type WriteRequest } from "./protocol.ts";

/** Compaction and the probe write through db.batch (strings only); group commits through ReusedBatch. */
type Op = WriteOp;
interface Db {
  open(): Promise<void>;
  close(): Promise<void>;
  get(key: string, options?: { valueEncoding: "view" }): Promise<string>;
  batch(ops: Op[], options: { sync: boolean }): Promise<void>;
  clear(options: { gte: string; lt: string }): Promise<void>;
  iterator(options: { gte?: string; gt?: string; lt?: string; lte?: string; reverse?: boolean; limit?: number; keys?: boolean; values?: boolean }): {
    nextv(n: number): Promise<[string, string][]>;
    close(): Promise<void>;
  };
}

const port = parentPort!;
const { dir } = workerData as { dir: string };
// WAL compression (zstd, on by default in this binding) costs more CPU than the disk it saves here.
const db = new RocksLevel(dir, { keyEncoding: "utf8", valueEncoding: "utf8", walCompression: false }) as unknown as Db;
await db.open();
// Group commits reuse one batch (write-batch.ts): its buffer's pages are touched once, not per commit.
const appends = new ReusedBatch(db);

const faults = new Faults();
// The head of the chain and the checkpoint. Each writer changes only its own fields, after its
// batch is durable, so a compaction and a group commit finishing in either order keep both.
let meta: Meta = await readMeta();

async function readMeta(): Promise<Meta> {
  const last = await getOr(LAST);
  const cp = await getOr(CHECKPOINT);
  const l = last ? (JSON.parse(last) as { id: string; hash: string }) : null;
  return { lastId: l?.id ?? null, lastHash: l?.hash ?? null, checkpoint: cp ? JSON.parse(cp) : null };
}

async function getOr(key: string): Promise<string | undefined> {
  try {
    return await db.get(key);
  } catch (err) {
    if ((err as { code?: string }).code === "LEVEL_NOT_FOUND") return undefined;
    throw err;
  }
}

type Range = { gte?: string; gt?: string; lt: string; values?: boolean };

/** Every [key, value] in a key range, read in pages; the iterator is closed however the loop ends. */
async function* scan(range: Range, page = 256): AsyncGenerator<[string, string]> {
  const it = db.iterator(range);
  try {
    for (;;) {
      const entries = await it.nextv(page);
      if (entries.length === 0) return;
      yield* entries;
    }
  } finally {
    await it.close();
  }
}

// Verify and compact run one at a time: a verify must not walk a log whose checkpoint moves
// under it, and two compactions must not write checkpoints out of order.
let maintenance: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = maintenance.then(fn, fn);
  maintenance = run.catch(() => {});
  return run;
}

// ---- group commit ----

interface PendingWrite { id: number; write: WriteRequest }
/** Events per batch record at most, when messages are merged (a bigger message stays whole). */
const RECORD = 1024;
let pending: PendingWrite[] = [];
let flushing = false;

function queueWrite(id: number, write: WriteRequest) {
  pending.push({ id, write });
  if (!flushing) {
    flushing = true;
    setImmediate(flush); // after every message already queued has been taken in
  }
}

/** The lines of a message's event segments, as text. */
function linesOf(segments: Uint8Array[]): string[] {
  const lines: string[] = [];
  for (const seg of segments) {
    const buf = Buffer.from(seg.buffer, seg.byteOffset, seg.byteLength);
    for (let from = 0; from < buf.length;) {
      const end = buf.indexOf(10, from);
      lines.push(buf.toString("utf8", from, end));
      from = end + 1;
    }
  }
  return lines;
}

/**
 * Buffers the records of one group commit are joined into, kept from commit to commit: the batch
 * copies what it is given, so they are free again once it is written, and fresh ~400 KB buffers
 * would cost a page fault per 4 KB each time (write-batch.ts says why that is dear here).
 */
const joined: Buffer[] = [];
/** What `joined` may keep between commits: a burst (a slow disk lets writes pile up) does not pin its peak. */
const JOINED_KEPT = 8;
const JOINED_KEPT_BYTES = 2 << 20;

/** The batch record: the segments' lines joined by "\n" (without the last one); a copy only when there are several (into joined[slot]). */
function batchBytes(segments: Uint8Array[], slot: number): Uint8Array {
  if (segments.length === 1) return segments[0]!.subarray(0, -1);
  const total = segments.reduce((n, s) => n + s.byteLength, 0);
  let buf = joined[slot];
  if (!buf || buf.byteLength < total) joined[slot] = buf = Buffer.allocUnsafeSlow(Math.max(total, 2 * (buf?.byteLength ?? 0)));
  let at = 0;
  for (const seg of segments) {
    buf.set(seg, at);
    at += seg.byteLength;
  }
  return buf.subarray(0, total - 1);
}

/** The segments of a group's messages that the host may write again (whole buffers of the usual size). */
function reusable(group: PendingWrite[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const { write } of group) {
    for (const seg of write.events ?? []) {
      if (seg.buffer.byteLength === SEGMENT_BYTES && seg.byteOffset === 0) out.push(seg.buffer as ArrayBuffer);
    }
  }
  return out;
}

async function flush() {
  while (pending.length > 0) {
    const group = pending;
    pending = [];
    // Whatever fails, building the batch or writing it, fails this group's writes, and the next
    // group still runs (a throw outside this would leave `flushing` set and every later write waiting).
    let outcome: { ok: true } | { ok: false; error: string } = { ok: true };
    try {
      const ops: Op[] = [];
      let prev = meta.lastHash ?? meta.checkpoint?.prev ?? GENESIS;
      let lastId = meta.lastId;
      // The events of consecutive messages go into one batch record of up to RECORD events: under
      // a steady load each turn of the API thread sends a few hundred, and a record (with its hash
      // list and ~400 index entries) per message would cost several times more puts per event.
      let segments: Uint8Array[] = [];
      let index: string[] = [];
      let records = 0;
      const record = () => {
        if (segments.length === 0) return;
        // The NDJSON bytes are stored as they came, no re-encoding. Each body is decoded on its own
        // for the chain and the index: one 370 KB string costs ~1.3 ms to make, 1024 small ones less.
        const bodies = linesOf(segments);
        const firstId = idOf(bodies[0]!);
        const { hashes, head } = chainBatch(prev, bodies);
        prev = head;
        lastId = idOf(bodies[bodies.length - 1]!);
        ops.push({ type: "put", key: batchKey(firstId), value: batchBytes(segments, records++) });
        ops.push({ type: "put", key: hashKey(firstId), value: hashes });
        for (const [prefix, value] of batchIndex(bodies, index)) ops.push({ type: "put", key: prefix + firstId, value });
        segments = [];
        index = [];
      };
      for (const { write } of group) {
        if (write.events) {
          if (index.length > 0 && index.length + write.index.length > 3 * RECORD) record();
          for (const seg of write.events) segments.push(seg);
          index = index.length === 0 ? write.index : index.concat(write.index);
        }
        for (const [scope, writes] of write.kv) {
          const p = kvRange(scope).gte;
          for (const [k, v] of writes) ops.push(v === null ? { type: "del", key: p + k } : { type: "put", key: p + k, value: v });
        }
        for (const [key, value] of write.records) {
          // Bytes go into the batch as they are, text as UTF-8 (ReusedBatch).
          ops.push(value === null ? { type: "del", key } : { type: "put", key, value });
        }
      }
      record();
      if (lastId !== meta.lastId) ops.push({ type: "put", key: LAST, value: JSON.stringify({ id: lastId, hash: prev }) });
      // The injected fault strikes with the ops in the batch, as a failing fsync would.
      if (ops.length > 0) appends.write(ops, () => faults.check("write"));
      else faults.check("write");
      if (lastId !== meta.lastId) meta = { ...meta, lastId, lastHash: prev };
    } catch (err) {
      outcome = { ok: false, error: (err as Error).message };
    }
    joined.length = Math.min(joined.length, JOINED_KEPT);
    for (let i = 0; i < joined.length; i++) if (joined[i]!.byteLength > JOINED_KEPT_BYTES) joined.length = i;
    // The batch copied what it stores: the event segments go back to the host thread with the
    // last answer, to be written again (fresh pages cost a page fault each, on that thread).
    const free = reusable(group);
    for (let i = 0; i < group.length; i++) {
      if (i < group.length - 1 || free.length === 0) port.postMessage({ id: group[i]!.id, ...outcome });
      else port.postMessage({ id: group[i]!.id, ...outcome, free }, free);
    }
  }
  flushing = false;
}

// ---- reads ----

/** A batch value: records separated by "\n". */
async function batchValue(firstId: string): Promise<string> {
  return (await getOr(batchKey(firstId))) ?? "";
}

/** The first id of the batch that holds `id` (or would): the greatest batch key <= id. */
async function batchOf(id: string): Promise<string> {
  const it = db.iterator({ gte: BATCHES, lte: batchKey(id), reverse: true, limit: 1, values: false });
  const [entry] = await it.nextv(1);
  await it.close();
  return entry ? entry[0].slice(BATCHES.length) : "";
}

async function query(q: EventQuery) {
  const out: Record<string, unknown>[] = [];
  const start = q.after ? await batchOf(q.after) : "";
  const prefix = q.service && q.tenant ? serviceIndex(q.tenant, q.service) : q.tenant ? tenantIndex(q.tenant) : q.type ? typeIndex(q.type) : BATCHES;
  for await (const [key, value] of scan({ gte: prefix + start, lt: prefix + END })) {
    const firstId = key.slice(prefix.length);
    if (q.before && firstId >= q.before) return out;
    const lines = prefix === BATCHES ? value.split("\n") : await entryLines(value, () => batchValue(firstId));
    for (const line of lines) {
      const id = idOf(line);
      if (q.after && id <= q.after) continue;
      if (q.before && id >= q.before) return out;
      const e = JSON.parse(line) as Record<string, unknown>;
      if (q.tenant && e.tenant !== q.tenant) continue;
      if (q.service && e.service !== q.service) continue;
      if (q.type && e.type !== q.type) continue;
      out.push(e);
      if (out.length >= q.limit) return out;
    }
  }
  return out;
}

async function get(id: string) {
  const first = await batchOf(id);
  if (!first) return null;
  const batch = await batchValue(first);
  const at = batch.indexOf(`{"id":"${id}"`);
  if (at < 0) return null;
  const end = batch.indexOf("\n", at);
  return JSON.parse(batch.slice(at, end < 0 ? undefined : end)) as Record<string, unknown>;
}

/** Every stored batch in id order; with `after`, only batches whose first id is past it. */
async function* storedBatches(after?: string): AsyncGenerator<StoredBatch> {
  const range = after === undefined ? { gte: BATCHES, lt: BATCHES + END } : { gt: batchKey(after), lt: BATCHES + END };
  for await (const [key, events] of scan(range, 16)) {
    const firstId = key.slice(BATCHES.length);
    yield { firstId, events, hashes: (await getOr(hashKey(firstId))) ?? "" };
  }
}

function verify(): Promise<VerifyReport> {
  // The head is taken before the scan starts: everything up to it is on disk already (meta moves
  // only after a batch is durable); batches appended meanwhile are past it and not checked.
  return exclusive(() => verifyChain(storedBatches(), meta.checkpoint?.prev ?? GENESIS, { lastId: meta.lastId, lastHash: meta.lastHash }));
}

/**
 * Verifies only what was appended after `from` (the head an earlier verification reached): the
 * batches whose first id is past it, linked from its hash. Without a point, or when compaction
 * removed batches past it, the whole log from the checkpoint. Cost: the new events only.
 */
function verifyFrom(from?: VerifiedPoint): Promise<IncrementalReport> {
  return exclusive(async () => {
    const head = { lastId: meta.lastId, lastHash: meta.lastHash };
    const cp = meta.checkpoint;
    const full = from === undefined || (cp !== null && cp.before > from.id);
    const report = full ? await verifyChain(storedBatches(), cp?.prev ?? GENESIS, head) : await verifyChain(storedBatches(from.id), from.hash, head);
    const to = report.ok && head.lastId !== null && head.lastHash !== null ? { id: head.lastId, hash: head.lastHash } : undefined;
    return { ...report, full, ...(to && { to }) };
  });
}

/** Writes a record with sync and reads it back: the database takes writes. */
async function probe(): Promise<{ wroteMs: number }> {
  faults.check("write");
  const started = performance.now();
  const value = String(Date.now());
  await db.batch([{ type: "put", key: PROBE, value }], { sync: true });
  if ((await getOr(PROBE)) !== value) throw new Error("the probe record read back differs from what was written");
  return { wroteMs: performance.now() - started };
}

/** Removes whole batches older than the cut, their index entries and a new checkpoint: one batch. */
function compact(beforeTime?: string, keepLast?: number): Promise<{ removed: number }> {
  return exclusive(async () => {
    faults.check("compact");
    const batches: BatchSummary[] = [];
    for await (const [key, value] of scan({ gte: BATCHES, lt: BATCHES + END }, 16)) batches.push(summarize(key.slice(BATCHES.length), value));
    const drop = batchesToDrop(batches, beforeTime, keepLast);
    if (drop === 0) return { removed: 0 };
    const keptFirst = batches[drop]!.first;
    const removed = batches.slice(0, drop).reduce((n, b) => n + b.count, 0);
    const checkpoint = { before: keptFirst, prev: linkOf((await getOr(hashKey(keptFirst))) ?? "") };
    const ops: Op[] = [{ type: "put", key: CHECKPOINT, value: JSON.stringify(checkpoint) }];
    for (const b of batches.slice(0, drop)) ops.push({ type: "del", key: batchKey(b.first) }, { type: "del", key: hashKey(b.first) });
    // Appends meanwhile only add index keys after the cut, so this list stays complete.
    for (const space of ["t:", "s:", "y:"]) {
      for await (const [key] of scan({ gte: space, lt: space + END, values: false }, 1024)) if (isStaleIndexKey(key, keptFirst)) ops.push({ type: "del", key });
    }
    await db.batch(ops, { sync: true });
    meta = { ...meta, checkpoint };
    return { removed };
  });
}

async function kvLoad(scope: string): Promise<[string, string][]> {
  faults.check("kv-load");
  const range = kvRange(scope);
  const out: [string, string][] = [];
  for await (const [k, v] of scan(range, 1024)) out.push([k.slice(range.gte.length), v]);
  return out;
}

async function kvDrop(scope: string) {
  await db.clear(kvRange(scope));
  await db.batch([], { sync: true }); // makes the range delete durable
}

async function records(prefix: string): Promise<[string, string][]> {
  faults.check("records");
  const out: [string, string][] = [];
  for await (const entry of scan(prefixRange(prefix), 64)) out.push(entry);
  return out;
}

async function recordBytes(key: string): Promise<Uint8Array | null> {
  faults.check("records");
  try {
    return new Uint8Array(await (db.get(key, { valueEncoding: "view" }) as unknown as Promise<Uint8Array>));
  } catch (err) {
    if ((err as { code?: string }).code === "LEVEL_NOT_FOUND") return null;
    throw err;
  }
}

port.on("message", async ({ id, req }: { id: number; req: StorageRequest }) => {
  if (req.t === "write") return queueWrite(id, req.write);
  try {
    let value: unknown;
    switch (req.t) {
      case "init": value = meta; break;
      case "query": value = await query(req.query); break;
      case "get": value = await get(req.id); break;
      case "kv-load": value = await kvLoad(req.scope); break;
      case "kv-drop": await kvDrop(req.scope); break;
      case "records": value = await records(req.prefix); break;
      case "record-bytes": value = await recordBytes(req.key); break;
      case "verify": value = await verify(); break;
      case "verify-from": value = await verifyFrom(req.from); break;
      case "probe": value = await probe(); break;
      case "compact": value = await compact(req.beforeTime, req.keepLast); break;
      case "faults": faults.set(req.plan); break;
      case "close":
        while (flushing) await new Promise((r) => setImmediate(r));
        await maintenance;
        await db.close();
        break;
    }
    port.postMessage({ id, ok: true, value });
  } catch (err) {
    port.postMessage({ id, ok: false, error: (err as Error).message });
  }
});
port.postMessage({ id: 0, ok: true, value: "ready" });
