// The call channel between the API thread and one worker: two rings of batches in
// SharedArrayBuffers (calls one way, results the other), one writer and one reader each. A
// postMessage costs a structured clone and an event-loop wake-up on each side (~30 us a round trip
// here); a batch written to a ring costs a copy of its strings, and the reader finds it without a
// message when it is waiting: the worker lingers in Atomics.wait (a futex, no spinning) for
// LINGER_MS after its queue empties, the API thread waits with Atomics.waitAsync.
//
// A worker that lingered LINGER_MS with nothing to do parks (a flag in the ring): its event loop
// sleeps, and the next batch written is followed by one "bell" postMessage to wake it. So an idle
// worker costs no CPU, and a busy one takes calls without messages.
//
// Order: every batch and every message a side sends carries that side's sequence number, and the
// reader takes them strictly in order, so control messages (install, quota, ack...) keep their place
// among calls and results exactly as when everything went by postMessage. A batch that does not fit
// (strings over RING_MAX_BATCH bytes, or a full ring), and results with anything beyond output,
// fuel, memory and time (errors, kv writes, logs..., instances evicted before them, changed
// instance counters), go by postMessage in their place.

/** Header words (Int32). */
export const RING = {
  /** Bumped (and notified) on every send, ring or message: the reader waits on it. */
  signal: 0,
  /** Byte offsets in the data area: the writer's next entry, and the reader's. */
  wpos: 1,
  rpos: 2,
  /** 1 while the reader is parked (its event loop asleep): the writer rings the bell. */
  parked: 3,
  /** The sequence number of the last message the writer sent by postMessage (-1: none). */
  posted: 4,
} as const;
const HEADER_BYTES = 32;
/** Data bytes per ring (one per direction per worker). */
export const RING_BYTES = 1 << 20;
/** A batch whose strings may take more than this (UTF-8 bytes, an upper bound) goes by postMessage. */
export const RING_MAX_BATCH = RING_BYTES >> 2;
/** How long a worker whose queue emptied waits in Atomics.wait for more calls before it parks. */
export const LINGER_MS = 2;
/**
 * Waking a thread from Atomics.wait (a futex) or its event loop costs ~15-20 us on this kind of VM,
 * each way: more than an echo call itself. So a side that expects an answer within SPIN_MS re-reads
 * the ring instead of sleeping, for at most SPIN_MS, and only while recent answers came that fast
 * (an average of the last few): a worker after its queue empties, when its last batch held one
 * call and calls have been following each other that closely; the API thread after sending a
 * worker its only call, when lone calls have been coming back that fast, for at most SPIN_TURN_MS
 * of each turn of its event loop. A spin that misses counts as a LINGER_MS gap, so a busy machine
 * soon stops spinning; an idle side never spins (its average grew past SPIN_MS). Host.open's
 * callSpinMs replaces SPIN_MS (0: never spin).
 */
export const SPIN_MS = 0.05;
/** The most the API thread spends spinning in one turn of its event loop (so a ping-pong of lone calls still lets I/O in). */
export const SPIN_TURN_MS = 0.5;
/** Whether `v` is an accepted callSpinMs: milliseconds from 0 (never spin) to SPIN_TURN_MS. */
export function isSpinMs(v: unknown): v is number {
  return typeof v === "number" && v >= 0 && v <= SPIN_TURN_MS;
}
/** Folds a new gap into an average of the last few (weight 1/4): how soon answers have been coming. */
export function recentMs(average: number, gap: number): number {
  return average + (gap - average) / 4;
}

/** Atomics.waitAsync (Node 20 has it; this project's TypeScript lib predates its types). */
type WaitAsync = (a: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };
export const waitAsync: WaitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * The channel a pool uses: "ring" (the default) or "message" (postMessage for everything). The
 * answers, their order and what crosses with them are the same either way
 * (test/runtime/calls-cross-to-workers-in-order-on-either-channel).
 */
export type CallChannel = "ring" | "message";

/** A new ring's memory: header and data area; starts parked (the reader is not waiting yet). */
export function newRing(): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(HEADER_BYTES + RING_BYTES);
  const h = new Int32Array(sab, 0, HEADER_BYTES >> 2);
  h[RING.parked] = 1;
  h[RING.posted] = -1;
  return sab;
}

const CALL_HEAD = 16; // u32 total bytes (0: wrap to the start), i32 seq, u32 count, u32 pad
const CALL_ENTRY = 16; // f64 id, u32 key bytes, u32 request bytes
const RESULT_HEAD = 24; // as CALL_HEAD, then f64 sent
const RESULT_ENTRY = 40; // f64 id, fuel, memoryBytes, time; i32 output bytes (-1: none), pad

/** What a call batch is read from: queued calls (the pool's own objects, no copies). */
export interface RingCall { id: number; key: string; request: string }

/** Results as the worker keeps them between sends: parallel arrays, reused. */
export interface RingResults { ids: number[]; outputs: (string | null)[]; fuels: number[]; memoryBytes: number[]; times: number[] }

export class Ring {
  readonly header: Int32Array;
  private readonly bytes: Buffer;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;

  constructor(sab: SharedArrayBuffer) {
    this.header = new Int32Array(sab, 0, HEADER_BYTES >> 2);
    this.bytes = Buffer.from(sab, HEADER_BYTES, RING_BYTES);
    this.u32 = new Uint32Array(sab, HEADER_BYTES, RING_BYTES >> 2);
    this.i32 = new Int32Array(sab, HEADER_BYTES, RING_BYTES >> 2);
    this.f64 = new Float64Array(sab, HEADER_BYTES, RING_BYTES >> 3);
  }

  // Writer side.

  /** Where `size` contiguous bytes can go, or -1 (the reader has not freed enough). Never fills the ring completely (w === r means empty). */
  private reserve(size: number): number {
    const w = this.header[RING.wpos]!;
    const r = Atomics.load(this.header, RING.rpos);
    if (w >= r) {
      if (RING_BYTES - w > size) return w;
      if (r > size) {
        this.u32[w >> 2] = 0; // wrap mark: the next entry is at the start
        return 0;
      }
      return -1;
    }
    return r - w > size ? w : -1;
  }

  /** Publishes an entry written at `at` of `size` bytes and wakes a waiting reader. */
  private publish(at: number, size: number): void {
    Atomics.store(this.header, RING.wpos, (at + size + 7) & ~7);
    Atomics.add(this.header, RING.signal, 1);
    Atomics.notify(this.header, RING.signal);
  }

  /** Writes `n` calls from `calls` as batch `seq`; false when they do not fit (send them by message). */
  writeCalls(seq: number, calls: readonly RingCall[], n: number): boolean {
    let bound = CALL_HEAD + CALL_ENTRY * n;
    for (let i = 0; i < n; i++) bound += 3 * (calls[i]!.key.length + calls[i]!.request.length);
    if (bound > RING_MAX_BATCH) return false;
    const at = this.reserve(bound + 8);
    if (at < 0) return false;
    let s = at + CALL_HEAD + CALL_ENTRY * n;
    for (let i = 0; i < n; i++) {
      const c = calls[i]!;
      const e = at + CALL_HEAD + CALL_ENTRY * i;
      this.f64[e >> 3] = c.id;
      const k = this.bytes.write(c.key, s, "utf8");
      s += k;
      const q = this.bytes.write(c.request, s, "utf8");
      s += q;
      this.u32[(e >> 2) + 2] = k;
      this.u32[(e >> 2) + 3] = q;
    }
    this.u32[at >> 2] = s - at;
    this.i32[(at >> 2) + 1] = seq;
    this.u32[(at >> 2) + 2] = n;
    this.publish(at, s - at);
    return true;
  }

  /** Writes the first `n` results as batch `seq`, sent at `sent`; false when they do not fit. */
  writeResults(seq: number, r: RingResults, n: number, sent: number): boolean {
    let bound = RESULT_HEAD + RESULT_ENTRY * n;
    for (let i = 0; i < n; i++) bound += 3 * (r.outputs[i]?.length ?? 0);
    if (bound > RING_MAX_BATCH) return false;
    const at = this.reserve(bound + 8);
    if (at < 0) return false;
    let s = at + RESULT_HEAD + RESULT_ENTRY * n;
    for (let i = 0; i < n; i++) {
      const e = at + RESULT_HEAD + RESULT_ENTRY * i;
      const f = e >> 3;
      this.f64[f] = r.ids[i]!;
      this.f64[f + 1] = r.fuels[i]!;
      this.f64[f + 2] = r.memoryBytes[i]!;
      this.f64[f + 3] = r.times[i]!;
      const out = r.outputs[i];
      if (out === null || out === undefined) this.i32[(e >> 2) + 8] = -1;
      else {
        const b = this.bytes.write(out, s, "utf8");
        this.i32[(e >> 2) + 8] = b;
        s += b;
      }
    }
    this.u32[at >> 2] = s - at;
    this.i32[(at >> 2) + 1] = seq;
    this.u32[(at >> 2) + 2] = n;
    this.f64[(at >> 3) + 2] = sent;
    this.publish(at, s - at);
    return true;
  }

  /** A message goes by postMessage as number `seq`: the reader must take it before later entries. */
  posted(seq: number): void {
    Atomics.store(this.header, RING.posted, seq);
    Atomics.add(this.header, RING.signal, 1);
    Atomics.notify(this.header, RING.signal);
  }

  /** Wakes the reader if it parked; true once per park (the caller then sends the bell). */
  unpark(): boolean {
    return Atomics.load(this.header, RING.parked) === 1 && Atomics.compareExchange(this.header, RING.parked, 1, 0) === 1;
  }

  // Reader side.

  /** The offset of the next entry, or -1 when none is written. */
  peek(): number {
    let r = this.header[RING.rpos]!;
    if (r === Atomics.load(this.header, RING.wpos)) return -1;
    if (this.u32[r >> 2] === 0) {
      r = 0;
      this.header[RING.rpos] = 0; // the writer reads rpos only to find free room: 0 frees less, never too much
    }
    return r;
  }

  /** The sequence number of the entry at `at`. */
  seqAt(at: number): number {
    return this.i32[(at >> 2) + 1]!;
  }

  /** The entry at `at` was read: its room goes back to the writer. */
  consume(at: number): void {
    Atomics.store(this.header, RING.rpos, (at + this.u32[at >> 2]! + 7) & ~7);
  }

  /** Calls the call batch at `at` holds, one `take(id, key, request)` each; answers how many. */
  readCalls(at: number, take: (id: number, key: string, request: string) => void): number {
    const n = this.u32[(at >> 2) + 2]!;
    let s = at + CALL_HEAD + CALL_ENTRY * n;
    for (let i = 0; i < n; i++) {
      const e = at + CALL_HEAD + CALL_ENTRY * i;
      const k = this.u32[(e >> 2) + 2]!;
      const q = this.u32[(e >> 2) + 3]!;
      const key = this.bytes.toString("utf8", s, s + k);
      s += k;
      const request = this.bytes.toString("utf8", s, s + q);
      s += q;
      take(this.f64[e >> 3]!, key, request);
    }
    return n;
  }

  /** The result batch at `at` into `into` (arrays reused); answers its count and sets `sent`. */
  readResults(at: number, into: RingResults): { n: number; sent: number } {
    const n = this.u32[(at >> 2) + 2]!;
    let s = at + RESULT_HEAD + RESULT_ENTRY * n;
    for (let i = 0; i < n; i++) {
      const e = at + RESULT_HEAD + RESULT_ENTRY * i;
      const f = e >> 3;
      into.ids[i] = this.f64[f]!;
      into.fuels[i] = this.f64[f + 1]!;
      into.memoryBytes[i] = this.f64[f + 2]!;
      into.times[i] = this.f64[f + 3]!;
      const b = this.i32[(e >> 2) + 8]!;
      if (b < 0) into.outputs[i] = null;
      else {
        into.outputs[i] = this.bytes.toString("utf8", s, s + b);
        s += b;
      }
    }
    this.batch.n = n;
    this.batch.sent = this.f64[(at >> 3) + 2]!;
    return this.batch;
  }
  private readonly batch = { n: 0, sent: 0 };
}
