// A pool of worker threads that run guest instances (one per core by default). A service lives on
// one worker; a tenant's services share it. Calls are queued per worker and posted in batches,
// one message per tick each way (a round trip costs ~20-40 us, so batching is what makes many
// calls in flight cheap).
//
// Failure: a watchdog terminates a worker whose running call or install outlives its deadline, and
// a worker that dies (a crash, its heap limit) is replaced. Only the work that was running fails;
// every other service on it is re-created on the replacement with its committed kv, deploys in
// flight are re-sent, and queued calls run there. A call is re-sent at most MAX_ATTEMPTS times, and
// a service whose re-creation fails or kills the worker again is dropped and reported (onLost), so
// nothing a guest does can keep a worker restarting forever.
//
// Placement (services/placement.ts decides, this file measures and provides): each worker sums
// the time its calls ran, per service (wall time, capped by what fuel explains: see charged), and
// every loadWindowMs reports each tenant's share of a thread (onLoad); a call charged longCallMs or
// more is reported when it answers (onLongCall). Tenants
// start on the `size` shared workers; heavy ones are moved to *isolated* workers, started on
// demand up to a cap and run at a lower OS priority (nice), so the OS serves light tenants first.
import { availableParallelism } from "node:os";
import type { Telemetry } from "../telemetry/index.ts";
import { Worker } from "node:worker_threads";
import { SoloError } from "../errors.ts";
import { LINGER_MS, RING, Ring, SPIN_MS, SPIN_TURN_MS, newRing, recentMs, waitAsync, type CallChannel, type RingResults } from "./call-ring.ts";
import { CallTable } from "./call-table.ts";
import { WATCH, monotonicMs, type AckMessage, type CallResult, type FromWorker, type HealthRequest, type InstallMessage, type InstanceCounts, type InstanceLimits, type ResultsMessage, type RunSpec, type SecretSnapshot, type Sequenced, type ToWorker, type WireError, type WorkerQuota } from "./protocol.ts";

const ENTRY = new URL("./worker-entry.mjs", import.meta.url);

/**
 * How often a queued call may be re-sent after worker deaths that no running call or install
 * explains (then nothing else can be blamed); a death that is explained fails only its culprit.
 */
const MAX_ATTEMPTS = 3;

/**
 * The least deadline of a re-creation the host makes on its own account: re-installs on a
 * replaced thread (not of the service whose start overran there), a tenant's move to an isolated
 * worker, recovery after a host restart, a swap's version installed again after its thread went.
 * The start passed under the service's own deadline at deploy; here the host chose the moment (a
 * loaded machine, a fresh thread, an isolated thread at a lower OS priority), so a stall of the
 * host must not be taken for the guest's and lose the service. A start that still overruns is
 * given up as before. The cost: each service re-installed on a replaced thread may hold it this
 * long, per replacement (a tenant can already buy as much with a high limits.deadlineMs).
 */
export const RECREATE_DEADLINE_MS = 1_000;

/**
 * V8 heap per guest worker. Guests' linear memories live outside it (bounded by their own limits);
 * this bounds what jco glue and host bookkeeping may hold, so a runaway fails one worker, not the host.
 */
const WORKER_HEAP_MB = 1024;

/** What this thread spun in the current turn of its event loop (call-ring.ts: SPIN_TURN_MS). */
const spinTurn = { ms: 0, resetting: false };
const resetSpinTurn = () => {
  spinTurn.ms = 0;
  spinTurn.resetting = false;
};
/** How much more this turn may spin (ms). */
function spinAllowance(): number {
  if (!spinTurn.resetting) {
    spinTurn.resetting = true;
    setImmediate(resetSpinTurn);
  }
  return SPIN_TURN_MS - spinTurn.ms;
}

export interface InstallSpec {
  key: string;
  run: RunSpec;
  /** The guest's file as its deploy named it (failures name their place in it). */
  file?: string;
  limits: InstanceLimits;
  /** The committed kv, read whenever the service is (re)installed. */
  loadKv: () => Promise<[string, string][]>;
  /** What the guest's imports may do (host/capability/guest.ts). */
  capabilities: readonly string[];
  /** Imports the start code was denied, at each (re)install that had any. */
  onDenied?: (denied: string[]) => void;
}

interface PendingCall {
  id: number;
  key: string;
  request: string;
  resolve: (r: CallResult) => void;
  /** How many workers this call has been queued on. */
  attempts: number;
  /** When the pool took it (monotonicMs; 0 until it is queued): CallResult.waitMs counts from it. */
  at: number;
}

interface PendingAck {
  /** Undefined: moot (the request went to a thread that was replaced; see restart). */
  resolve: (ack: AckMessage | undefined) => void;
  reject: (err: SoloError) => void;
  /** For an install: what to send again if the worker is replaced before it answers. */
  spec?: InstallSpec;
  /** And whether it was without an instance (a cached deploy): sent again the same way. */
  lazy?: LazyStart;
  /** And its start's deadline when not the service's (a re-creation, RECREATE_DEADLINE_MS): kept when sent again. */
  startDeadlineMs?: number;
}

export interface PoolOptions {
  size?: number;
  /** How often the watchdog looks at running work. */
  watchdogMs?: number;
  onRestart?: (worker: number, reason: string) => void;
  /** A service could not be re-created on a replaced worker: it is no longer running there. */
  onLost?: (key: string, error: SoloError) => void;
  /**
   * The current values of the secrets `names` of `tenant` (the vault), read at every (re)install
   * of a service granted some, so that a replaced worker gets them again.
   */
  secretsFor?: (tenant: string, names: string[]) => SecretSnapshot;
  /** Metrics (host/telemetry); default NOOP_TELEMETRY. Host.open reports restarts itself (onRestart). */
  telemetry?: Telemetry;
  /** Isolated workers that may be started on demand for heavy tenants (default 0: none). */
  isolated?: number;
  /** The OS nice value of isolated workers (default 10; 0 keeps them at normal priority). */
  isolatedNice?: number;
  /** How often each tenant's share of its worker is reported (default 500 ms). */
  loadWindowMs?: number;
  onLoad?: (loads: TenantLoad[]) => void;
  /** A call charged this long (see charged) is reported when it answers (default 20 ms). */
  longCallMs?: number;
  onLongCall?: (tenant: string, worker: number, ms: number) => void;
  /** The worker's entry module (default worker-entry.mjs, which loads worker.ts through the TypeScript hooks); `solo run` passes its prebuilt copy. */
  entry?: URL;
  /** Scale to zero: an instance not called for this long is dropped, its next call re-creates it (0: never). */
  idleMs?: number;
  /** Live instances one worker keeps at most; past it the least recently used goes (0: no cap). */
  maxLiveInstances?: number;
  /**
   * How calls and results cross to workers (call-ring.ts): "ring" (default: shared-memory rings)
   * or "message" (postMessage for everything).
   */
  channel?: CallChannel;
  /** Ring channel: how long either side spins for an answer it expects that soon (call-ring.ts; default SPIN_MS, 0: never). */
  spinMs?: number;
}

/** A cached deploy's or a re-install's start: no instance until the first call (InstallMessage.lazy). */
export type LazyStart = NonNullable<InstallMessage["lazy"]>;

/** One tenant's load on one worker over the last window. */
export interface TenantLoad {
  tenant: string;
  worker: number;
  /** The share of one thread's time its calls of 1 ms or more ran (a call longer than the window counts where it ends). */
  share: number;
}

/** Below this share of a thread a worker counts as idle when a new tenant is placed. */
const IDLE_SHARE = 0.05;

/**
 * Calls shorter than this (charged ms) never count towards moving their tenant: the worker looks
 * at its queue every millisecond (call-queue.ts), so a neighbour waits at most about this long
 * behind them, however many there are. Without it, any tenant sending many tiny calls would look heavy.
 */
const MOVE_CALL_MS = 1;

/**
 * Fuel units a thread runs in a millisecond, about (loop.as.ts: 1e9 units in ~100 ms). A call is
 * charged its wall time, but at most 8x what its fuel explains plus 0.2 ms: wall time counts what
 * fuel misses (memory growth, instantiation, host imports) but also the time the OS ran other
 * threads, so on a contended machine a light call must not look heavy.
 */
const FUEL_PER_MS = 10_000_000;
function charged(wallMs: number, fuel: number): number {
  if (wallMs === 0) return 0;
  return Math.min(wallMs, (fuel / FUEL_PER_MS) * 8 + 0.2);
}

/** The secret names a capability list grants ("secret:NAME"). */
function grantedSecrets(capabilities: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of capabilities) if (c.startsWith("secret:")) out.push(c.slice(7));
  return out;
}

let nextId = 1;

class PoolWorker {
  worker!: Worker;
  state!: Float64Array;
  readonly installed = new Map<string, InstallSpec>();
  readonly calls = new CallTable<PendingCall>();
  readonly acks = new Map<number, PendingAck>();
  /** Each tenant's quota as this worker enforces it: sent again to a replacement thread first. */
  readonly quotas = new Map<string, WorkerQuota>();
  /** Why the current thread failed, if it said (the worker's 'error' event). */
  lastError: string | undefined;
  /** Ms each service's calls of MOVE_CALL_MS or more ran since the last load window (placement). */
  busyMs = new Map<string, number>();
  /** Ms all calls ran since the last load window. */
  totalMs = 0;
  /** The thread answered a ping (placement: a move gates its tenant only once the thread is up). */
  loaded = false;
  /** This worker's share of a thread over the last window. */
  load = 0;
  /** Installed services with no live instance (evicted, or installed lazily and not called since). */
  readonly dormant = new Set<string>();
  /** The thread's instance counters as of its last message, and what earlier threads created and evicted. */
  instances: InstanceCounts = { live: 0, created: 0, evicted: 0 };
  readonly past = { created: 0, evicted: 0 };
  private queue: PendingCall[] = [];
  /** Ring channel: calls out, results in (undefined with the "message" channel), and each side's next sequence number. */
  private tx: Ring | undefined;
  private rx: Ring | undefined;
  private txSeq = 0;
  private rxSeq = 0;
  /** Results read from the ring, reused batch after batch (no arrays per batch). */
  private readonly out = { ids: [] as number[], keys: [] as string[], requests: [] as string[] };
  private readonly got: RingResults = { ids: [], outputs: [], fuels: [], memoryBytes: [], times: [] };
  private flushScheduled = false;
  /** Lone calls' time from queued to answered, lately (ms): the thread spins for an answer only while it is under spinMs. */
  private loneMs = LINGER_MS;
  /** Lone calls whose answer this thread spun for, and how many of those answers the spin caught. */
  readonly spins = { spun: 0, caught: 0 };
  /** The last spin missed its answer (counted in loneMs as a whole linger, not as the answer's time when it comes). */
  private spinMissed = false;
  /** When the current tick's first call was queued (monotonicMs). */
  private tickAt = 0;
  private closing = false;
  /** Set once this worker can run nothing more (closed, or it could not be re-created): why. */
  private stopped: SoloError | undefined;
  /** While a replacement thread is being given its services, calls wait in the queue. */
  private paused = false;
  /** Secret changes made meanwhile: sent after the re-installs, so the newest value is last. */
  private pendingSecrets: ToWorker[] = [];

  /** A call charged this long is reported at once (placement). */
  longCallMs = Infinity;
  onLongCall: PoolOptions["onLongCall"];

  constructor(readonly index: number, private readonly onDeath: (w: PoolWorker, code: number) => void, private readonly onLost: (key: string, error: SoloError) => void, private readonly secretsFor?: PoolOptions["secretsFor"], readonly nice = 0, private readonly entry: URL = ENTRY, private readonly scale: { idleMs?: number; maxLive?: number } = {}, readonly channel: CallChannel = "ring", private readonly spinMs = SPIN_MS) {
    this.start();
  }

  private start() {
    const watch = new SharedArrayBuffer(WATCH.size * 8);
    this.state = new Float64Array(watch);
    this.lastError = undefined;
    this.loaded = false;
    this.endRings();
    let rings: [SharedArrayBuffer, SharedArrayBuffer] | undefined;
    if (this.channel === "ring") {
      rings = [newRing(), newRing()];
      this.tx = new Ring(rings[0]);
      this.rx = new Ring(rings[1]);
      this.txSeq = 0;
      this.rxSeq = 0;
      this.listen(this.rx);
    }
    this.worker = new Worker(this.entry, { workerData: { watch, nice: this.nice, idleMs: this.scale.idleMs ?? 0, maxLive: this.scale.maxLive ?? 0, rings, spinMs: this.spinMs }, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    this.worker.unref(); // held (ref) only while it has work, so an idle pool never keeps a process alive
    const w = this.worker;
    // A replaced thread's last messages are ignored: its calls and requests were settled or re-sent,
    // and its sequence numbers are not the new thread's.
    w.on("message", (msg: FromWorker) => {
      if (this.worker === w) this.onMessage(msg);
    });
    w.on("error", (err) => {
      if (this.worker === w) this.lastError = err.message;
    });
    w.on("exit", (code) => {
      if (this.worker === w && !this.closing && !this.stopped) this.onDeath(this, code);
    });
  }

  /** Reads results as the worker writes them: Atomics.waitAsync on the ring (a promise per wake-up, not per call). */
  private listen(rx: Ring) {
    const wait = () => {
      if (this.rx !== rx) return;
      const seen = Atomics.load(rx.header, RING.signal);
      this.pullResults(rx, undefined);
      const w = waitAsync(rx.header, RING.signal, seen);
      if (w.async) void w.value.then(wait);
      else setImmediate(wait); // written meanwhile: read on the next turn, never a microtask loop that starves the event loop
    };
    wait();
  }

  /** The rings of a thread that is gone: its listener ends. */
  private endRings() {
    const rx = this.rx;
    this.tx = this.rx = undefined;
    if (rx) Atomics.notify(rx.header, RING.signal);
  }

  /** Result batches in the ring, in order, up to (without) the message numbered `until`. */
  private pullResults(rx: Ring, until: number | undefined) {
    for (;;) {
      const at = rx.peek();
      if (at < 0) return;
      const seq = rx.seqAt(at);
      // A gap: the message numbered rxSeq went by postMessage and comes first.
      if (seq !== this.rxSeq || seq === until) return;
      this.rxSeq = (seq + 1) | 0;
      const g = this.got;
      const { n, sent } = rx.readResults(at, g);
      rx.consume(at);
      // A lone call's time from queued to answered: whether the next one is worth spinning for.
      const lone = n === 1 && this.calls.size === 1 ? this.calls.get(g.ids[0]!) : undefined;
      if (lone && !this.spinMissed) this.loneMs = recentMs(this.loneMs, sent - lone.at);
      this.spinMissed = false;
      this.settle(n, g.ids, g.outputs, g.fuels, g.memoryBytes, g.times, sent, undefined);
      g.outputs.length = 0; // holds no output past its batch
      if (this.rx !== rx) return; // a settled call closed or replaced the thread
    }
  }

  /** Sends a message to the thread; with the ring channel it takes its place in the sequence. */
  private post(msg: ToWorker) {
    const tx = this.tx;
    if (!tx) return this.worker.postMessage(msg);
    // The number is published only once the message is sent: a send that throws leaves no gap
    // that every later batch in the ring would wait on.
    const seq = this.txSeq;
    (msg as ToWorker & Sequenced).chan = seq;
    this.worker.postMessage(msg);
    this.txSeq = (seq + 1) | 0;
    tx.posted(seq);
  }

  /** Calls and requests in flight: the watchdog looks only at busy workers. */
  get busy(): number {
    return this.calls.size + this.acks.size;
  }

  /** Whether it still has a thread (false once it could not be re-created). */
  get alive(): boolean {
    return this.stopped === undefined;
  }

  /** What is running now: a call id, minus an install's request id, or 0. */
  get running(): number {
    return this.state[WATCH.deadline] !== 0 ? this.state[WATCH.running]! : 0;
  }

  private holdIfBusy() {
    if (this.busy > 0) this.worker.ref();
    else this.worker.unref();
  }

  async request(msg: ToWorker & { id: number }, spec?: InstallSpec): Promise<number | undefined> {
    return (await this.requestAck(msg, spec))?.memoryBytes;
  }

  requestAck(msg: ToWorker & { id: number }, spec?: InstallSpec): Promise<AckMessage | undefined> {
    if (this.stopped) return Promise.reject(this.stopped);
    return new Promise((resolve, reject) => {
      this.acks.set(msg.id, { resolve, reject, spec, ...(msg.t === "install" && msg.lazy && { lazy: msg.lazy }), ...(msg.t === "install" && msg.startDeadlineMs && { startDeadlineMs: msg.startDeadlineMs }) });
      this.holdIfBusy();
      this.post(msg);
    });
  }

  /** Messages keep their order, so the quota is in force before any later install or call. */
  setQuota(tenant: string, quota: WorkerQuota) {
    this.quotas.set(tenant, quota);
    if (!this.stopped) this.post({ t: "quota", tenant, quota } satisfies ToWorker);
  }

  enqueue(call: PendingCall) {
    if (this.stopped) return call.resolve({ id: call.id, error: { code: this.stopped.code, message: this.stopped.message }, fuel: 0, memoryBytes: 0 });
    this.calls.add(call);
    if (this.calls.size === 1) this.holdIfBusy();
    this.queue.push(call);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // One clock reading per tick: the calls queued in it share it.
      this.tickAt = monotonicMs();
      queueMicrotask(() => this.flush());
    }
    if (call.at === 0) call.at = this.tickAt;
  }

  private flush() {
    this.flushScheduled = false;
    if (this.queue.length === 0 || this.paused) return;
    const n = this.queue.length;
    const tx = this.tx;
    if (tx && tx.writeCalls(this.txSeq, this.queue, n)) {
      this.txSeq = (this.txSeq + 1) | 0;
      this.queue.length = 0;
      if (tx.unpark()) this.worker.postMessage({ t: "bell" } satisfies ToWorker);
      else if (n === 1 && this.calls.size === 1 && this.loneMs < this.spinMs) this.spinForResult();
      return;
    }
    // postMessage clones them at once: the same arrays serve every batch.
    const { ids, keys, requests } = this.out;
    for (let i = 0; i < n; i++) {
      const c = this.queue[i]!;
      ids.push(c.id);
      keys.push(c.key);
      requests.push(c.request);
    }
    this.queue.length = 0;
    this.post({ t: "calls", ids, keys, requests } satisfies ToWorker);
    ids.length = keys.length = requests.length = 0; // holds no request past its batch
  }

  /**
   * Re-reads the ring for the answer to the call just sent, for up to spinMs (less if this turn
   * of the event loop has spun SPIN_TURN_MS already), instead of waking for it later; stops early
   * if the worker sends a message instead (the answer comes that way, or after it).
   */
  private spinForResult() {
    const allowance = Math.min(this.spinMs, spinAllowance());
    if (allowance <= 0) return; // this turn has spun its share: the answer wakes the thread as without spinning
    const rx = this.rx!;
    this.spinMissed = false;
    const began = performance.now();
    const until = began + allowance;
    const posted = Atomics.load(rx.header, RING.posted);
    let now = began;
    while (rx.peek() < 0 && Atomics.load(rx.header, RING.posted) === posted && (now = performance.now()) < until);
    spinTurn.ms += now - began;
    const waiting = this.calls.size;
    this.pullResults(rx, undefined);
    this.spins.spun++;
    if (this.calls.size < waiting) this.spins.caught++;
    // A spin that ran its whole spinMs and missed counts as a whole linger, not as the answer's own
    // time when it comes (an average of times let a third of the spins miss on a busy machine).
    // One cut short by the turn's allowance proves nothing; one that gave way to a message leaves
    // the penalty to that message (onMessage).
    else if (now >= began + this.spinMs && Atomics.load(rx.header, RING.posted) === posted) {
      this.loneMs = recentMs(this.loneMs, LINGER_MS);
      this.spinMissed = true;
    }
  }

  private onMessage(msg: FromWorker) {
    const rx = this.rx;
    if (rx && msg.chan !== undefined) {
      // Batches the worker wrote before this message are in the ring already: they come first.
      this.pullResults(rx, msg.chan);
      if (this.rx !== rx) return; // a settled call closed or replaced the thread: the rest is the old one's
      this.rxSeq = (msg.chan + 1) | 0;
    }
    if (msg.instances) this.instances = msg.instances;
    if (msg.t === "evicted") {
      for (const key of msg.keys) if (this.installed.has(key)) this.dormant.add(key);
    } else if (msg.t === "results") {
      // A result that comes by message is never found by spinning on the ring.
      // (Once: a spin that missed it counted it already.)
      if (rx && msg.ids.length === 1 && this.calls.size === 1 && !this.spinMissed) this.loneMs = recentMs(this.loneMs, LINGER_MS);
      this.spinMissed = false;
      this.settle(msg.ids.length, msg.ids, msg.outputs, msg.fuels, msg.memoryBytes, msg.times, msg.sent, msg.extra, msg.evicted, msg.evictedAt);
    } else {
      if (msg.evicted) for (const key of msg.evicted) this.dormant.add(key);
      const ack = this.acks.get(msg.id);
      if (ack) {
        this.acks.delete(msg.id);
        this.holdIfBusy();
        if (msg.denied) ack.spec?.onDenied?.(msg.denied);
        if (msg.error) ack.reject(SoloError.from(msg.error));
        else ack.resolve(msg);
      }
    }
    // Batches written after it waited for it.
    if (rx && this.rx === rx) this.pullResults(rx, undefined);
  }

  /**
   * Resolves the first `n` calls of a batch of results (from a message or the ring). `evicted`:
   * services whose instance went before the result at the same position of `evictedAt` (only
   * messages carry them: the worker sends such a batch by message).
   */
  private settle(n: number, ids: readonly number[], outputs: readonly (string | null)[], fuels: readonly number[], memoryBytes: readonly number[], times: readonly number[], sent: number, extras: ResultsMessage["extra"], evicted?: string[], evictedAt?: number[]) {
    // Liveness in the order it happened: an eviction comes before the result at its position.
    let e = 0;
    for (let i = 0; i < n; i++) {
      if (evicted) for (; e < evicted.length && evictedAt![e]! <= i; e++) this.dormant.add(evicted[e]!);
      const id = ids[i]!;
      const call = this.calls.get(id);
      if (!call) continue;
      if (this.dormant.size > 0 && !extras?.[i]?.startFailed) this.dormant.delete(call.key);
      this.calls.delete(id);
      // Its run time, and the time it waited (queued, then for the calls sent back with it):
      // admission measures capacity by the wait.
      const ran = times[i]!;
      // output named at creation, present or not: a property added later on this hot path is a map
      // transition V8 may later deprecate and then fail to optimize around (see governor.ts).
      const result: CallResult = { id, output: outputs[i] ?? undefined, fuel: fuels[i]!, memoryBytes: memoryBytes[i]!, waitMs: sent - call.at - ran, answeredAt: sent, runMs: ran };
      const ms = charged(ran, result.fuel);
      this.totalMs += ms;
      // Shorter calls are interleaved fairly by the worker's queue (call-queue.ts): only
      // longer ones count towards moving a tenant.
      if (ms >= MOVE_CALL_MS) {
        this.busyMs.set(call.key, (this.busyMs.get(call.key) ?? 0) + ms);
        if (ms >= this.longCallMs) this.onLongCall?.(call.key.slice(0, call.key.indexOf("/")), this.index, ms);
      }
      const extra = extras?.[i];
      if (extra) {
        if (extra.error) result.error = extra.error;
        if (extra.writes) result.writes = extra.writes;
        if (extra.kvBytes !== undefined) result.kvBytes = extra.kvBytes;
        if (extra.logs) result.logs = extra.logs;
        if (extra.denied) result.denied = extra.denied;
        if (extra.restarted) result.restarted = true;
        if (extra.startFailed) result.startFailed = true;
        if (extra.secrets) result.secrets = extra.secrets;
        if (extra.emits) result.emits = extra.emits;
        if (extra.emitsRefused) result.emitsRefused = extra.emitsRefused;
        if (extra.nested) result.nested = extra.nested;
      }
      call.resolve(result);
    }
    if (evicted) for (; e < evicted.length; e++) this.dormant.add(evicted[e]!);
    if (this.calls.size === 0) this.holdIfBusy();
  }

  /**
   * Replaces the thread. `running` (a call id, or minus an install's id) gets `failure`
   * (`startFailed`: the call was making its instance); the rest carries on on the new thread:
   * services re-created first, then deploys in flight, then calls.
   */
  async restart(running: number, failure: WireError, startFailed = false) {
    const old = this.worker;
    const calls = this.calls.values();
    const acks = [...this.acks.entries()];
    this.calls.clear();
    this.acks.clear();
    this.queue = [];
    this.paused = true;
    void old.terminate();
    this.past.created += this.instances.created;
    this.past.evicted += this.instances.evicted;
    this.instances = { live: 0, created: 0, evicted: 0 };
    try {
      this.start();
    } catch (err) {
      // No thread to run anything on: everything waiting settles, every service on it is lost.
      this.stop(new SoloError("UNAVAILABLE", `the worker could not be re-created (${(err as Error).message}); the host must be restarted`), calls, acks.map(([, a]) => a));
      return;
    }
    const resend: PendingAck[] = [];
    for (const [id, ack] of acks) {
      if (-id === running) {
        // A service whose re-creation hung or crashed the worker is not tried again.
        if (ack.spec && this.installed.get(ack.spec.key) === ack.spec) {
          this.installed.delete(ack.spec.key);
          this.onLost(ack.spec.key, SoloError.from(failure));
        }
        ack.reject(SoloError.from(failure));
      }
      else if (ack.spec && !this.installed.has(ack.spec.key)) resend.push(ack);
      // A re-install, an uninstall or a kv reload is moot on a new thread: it starts from the
      // installed services and their committed kv.
      else ack.resolve(undefined);
    }
    // A start that overran would overrun again for each call of that service waiting behind it,
    // each time stopping the thread under every neighbour: they get the same answer instead.
    // One answer time for them all, so supervision counts one failed start (as for a results message).
    const overran = startFailed ? calls.find((c) => c.id === running)?.key : undefined;
    const answeredAt = overran !== undefined ? monotonicMs() : undefined;
    for (const call of calls) {
      // The call that had to be stopped is charged its whole fuel limit: it ran until then.
      if (call.id === running) call.resolve({ id: call.id, error: failure, fuel: this.fuelOf(call.key), memoryBytes: 0, ...(startFailed && { startFailed, answeredAt }) });
      else if (overran !== undefined && call.key === overran) call.resolve({ id: call.id, error: failure, fuel: 0, memoryBytes: 0, startFailed: true, answeredAt });
      else if (running === 0 && call.attempts >= MAX_ATTEMPTS) call.resolve({ id: call.id, error: { code: "UNAVAILABLE", message: `the worker running this call stopped ${call.attempts} times for no reason it could name; try again` }, fuel: 0, memoryBytes: 0 });
      else {
        // Only a death nothing running explains counts against the calls that waited.
        if (running === 0) call.attempts++;
        this.enqueue(call);
      }
    }
    // Quotas first, then installs, before any queued call, so every call finds its instance.
    for (const [tenant, quota] of this.quotas) this.post({ t: "quota", tenant, quota } satisfies ToWorker);
    const specs = [...this.installed.values()];
    // Services with no live instance come back without one too: their next call makes it. One
    // whose start overran in a call comes back as the pool knew it: evicted (or never started), it
    // stays so and supervision decides when a call tries again; live until it trapped, the
    // re-install starts it, and a second overrun there gives it up (onLost).
    // The floor is for the services that did nothing wrong: not for the one whose start just overran.
    const messages = await Promise.all(specs.map((spec) => this.installMessage(spec, this.dormant.has(spec.key) ? { memoryBytes: 0 } : undefined, spec.key !== overran).catch((err: Error) => err)));
    specs.forEach((spec, i) => {
      const msg = messages[i]!;
      const lost = (err: SoloError) => {
        if (this.installed.get(spec.key) !== spec) return;
        this.installed.delete(spec.key);
        this.onLost(spec.key, err);
      };
      if (msg instanceof Error) lost(new SoloError("UNAVAILABLE", `the service's committed kv could not be read to re-create it: ${msg.message}`));
      else this.request(msg, spec).catch(lost);
    });
    for (const m of this.pendingSecrets.splice(0)) this.post(m);
    for (const ack of resend) this.installMessage(ack.spec!, ack.lazy, ack.startDeadlineMs !== undefined).then((msg) => this.requestAck(msg, ack.spec)).then(ack.resolve, ack.reject);
    this.paused = false;
    this.flush();
  }

  /** `recreating`: the host re-creates a proven service on its own account (RECREATE_DEADLINE_MS). */
  private async installMessage(spec: InstallSpec, lazy?: LazyStart, recreating = false): Promise<ToWorker & { id: number }> {
    const kv = await spec.loadKv();
    // Read after the kv, as late as possible; a change after it is sent on its own (postSecret).
    const secrets = this.secretSnapshot(spec);
    const startDeadlineMs = recreating && spec.limits.deadlineMs < RECREATE_DEADLINE_MS ? RECREATE_DEADLINE_MS : undefined;
    return { t: "install", id: nextId++, key: spec.key, run: spec.run, ...(spec.file && { file: spec.file }), limits: spec.limits, kv, capabilities: spec.capabilities, ...(secrets && { secrets }), ...(lazy && { lazy }), ...(startDeadlineMs && { startDeadlineMs }) };
  }

  /** The fuel a call of `key` gets: its limit, or less under its tenant's fuelPerCall (as the thread computes it). */
  fuelOf(key: string): number {
    const fuel = this.installed.get(key)?.limits.fuel ?? 0;
    return Math.min(fuel, this.quotas.get(key.slice(0, key.indexOf("/")))?.fuelPerCall ?? fuel);
  }

  /** The current values of the secrets the spec's guest is granted (undefined: none). */
  secretSnapshot(spec: InstallSpec): SecretSnapshot | undefined {
    const names = this.secretsFor ? grantedSecrets(spec.capabilities) : [];
    return names.length > 0 ? this.secretsFor!(spec.key.slice(0, spec.key.indexOf("/")), names) : undefined;
  }

  /**
   * Sends a secret's change if a service of `tenant` installed here, or being installed, is
   * granted it; no other worker ever holds the value.
   */
  postSecret(tenant: string, name: string, value: string | null, seq: number): void {
    if (this.stopped) return;
    const prefix = `${tenant}/`;
    const cap = `secret:${name}`;
    const grants = (spec: InstallSpec | undefined) => spec !== undefined && spec.key.startsWith(prefix) && spec.capabilities.includes(cap);
    let wanted = false;
    for (const spec of this.installed.values()) if ((wanted = grants(spec))) break;
    if (!wanted) for (const ack of this.acks.values()) if ((wanted = grants(ack.spec))) break;
    if (!wanted) return;
    const msg: ToWorker = { t: "secret", tenant, name, value, seq };
    if (this.paused) this.pendingSecrets.push(msg);
    else this.post(msg);
  }

  async sendInstall(spec: InstallSpec, lazy?: LazyStart, recreating = false): Promise<number | undefined> {
    const ack = await this.requestAck(await this.installMessage(spec, lazy, recreating), spec);
    if (ack?.dormant) this.dormant.add(spec.key);
    else this.dormant.delete(spec.key);
    return ack?.memoryBytes;
  }

  /** Settles every call (error `why`) and request (rejected); later ones settle at once the same way. */
  private stop(why: SoloError, calls: PendingCall[], acks: PendingAck[]) {
    this.stopped = why;
    this.endRings(); // no thread reads or writes them any more: the result listener ends
    this.queue = [];
    for (const call of calls) call.resolve({ id: call.id, error: { code: why.code, message: why.message }, fuel: 0, memoryBytes: 0 });
    for (const ack of acks) ack.reject(why);
    if (!this.closing) {
      const lost = [...this.installed.keys()];
      this.installed.clear();
      for (const key of lost) this.onLost(key, why);
    }
  }

  /** A restart that threw: nothing on this worker can be trusted to run again. */
  abandon(err: unknown) {
    const calls = this.calls.values();
    const acks = [...this.acks.values()];
    this.calls.clear();
    this.acks.clear();
    this.stop(new SoloError("UNAVAILABLE", `the worker could not be re-created (${(err as Error)?.message ?? String(err)}); the host must be restarted`), calls, acks);
    void this.worker.terminate();
  }

  async close() {
    this.closing = true;
    const calls = this.calls.values();
    const acks = [...this.acks.values()];
    this.calls.clear();
    this.acks.clear();
    this.stop(new SoloError("UNAVAILABLE", "the host is closing"), calls, acks);
    await this.worker.terminate();
  }
}

export class WorkerPool {
  /** The shared workers first (0 .. size-1), then isolated ones in the order they were started. */
  private readonly workers: PoolWorker[];
  private readonly shared: number;
  private readonly watchdog: NodeJS.Timeout;
  private readonly loadTimer: NodeJS.Timeout | undefined;
  private loadAt = monotonicMs();
  private closed = false;
  /** How many times a worker was replaced (deadline or crash). */
  restarts = 0;

  constructor(private readonly options: PoolOptions = {}) {
    const size = Math.max(1, options.size ?? availableParallelism());
    this.shared = size;
    this.workers = Array.from({ length: size }, (_, i) => this.newWorker(i, 0));
    this.watchdog = setInterval(() => this.checkDeadlines(), options.watchdogMs ?? 10);
    this.watchdog.unref();
    if (options.onLoad) {
      this.loadTimer = setInterval(() => this.reportLoad(), options.loadWindowMs ?? 500);
      this.loadTimer.unref();
    }
  }

  private newWorker(index: number, nice: number): PoolWorker {
    const w = new PoolWorker(index, (w, code) => this.onDeath(w, code), (key, err) => this.options.onLost?.(key, err), this.options.secretsFor, nice, this.options.entry, { idleMs: this.options.idleMs, maxLive: this.options.maxLiveInstances }, this.options.channel, this.options.spinMs);
    w.longCallMs = this.options.longCallMs ?? 20;
    w.onLongCall = this.options.onLongCall;
    if (index >= this.shared) void this.ready(index).catch(() => {}); // an isolated one: marks it loaded (isLoaded)
    return w;
  }

  /** The worker's thread has answered once (a new thread takes ~50-300 ms to load). */
  isLoaded(worker: number): boolean {
    return this.worker(worker).loaded;
  }

  /** The shared workers (isolated ones are not counted). */
  get size(): number {
    return this.shared;
  }

  /** Isolated workers started so far. */
  get isolatedCount(): number {
    return this.workers.length - this.shared;
  }

  isIsolated(worker: number): boolean {
    return worker >= this.shared;
  }

  /**
   * The shared worker where a tenant goes: the least busy over the last window (a share under 5%
   * counts as idle), then the one with the fewest installed services.
   */
  leastLoaded(): number {
    let best = 0;
    const busy = (w: PoolWorker) => (w.load < IDLE_SHARE ? 0 : w.load);
    for (let i = 1; i < this.shared; i++) {
      const w = this.workers[i]!;
      const b = this.workers[best]!;
      if (busy(w) < busy(b) || (busy(w) === busy(b) && w.installed.size < b.installed.size)) best = i;
    }
    return best;
  }

  /**
   * Where a heavy tenant goes: an isolated worker holding no service, one started now if the cap
   * allows (a thread takes ~50-300 ms to load; messages sent meanwhile wait for it), else the
   * least busy isolated one. Undefined when isolation is off. `taken`: workers that moves under
   * way are filling (still empty, but not for long).
   */
  isolatedFor(taken: ReadonlySet<number> = new Set()): number | undefined {
    if (this.closed) return undefined;
    this.warming = false;
    let best: PoolWorker | undefined;
    for (let i = this.shared; i < this.workers.length; i++) {
      const w = this.workers[i]!;
      if (w.installed.size === 0 && w.acks.size === 0 && !taken.has(i)) return i;
      if (!best || w.load < best.load) best = w;
    }
    if (this.isolatedCount < (this.options.isolated ?? 0)) {
      const i = this.workers.length;
      this.workers.push(this.newWorker(i, this.options.isolatedNice ?? 10));
      return i;
    }
    return best?.index;
  }

  /** Resolves once the worker's thread is loaded and answering (a new one takes ~50-300 ms). */
  async ready(worker: number): Promise<void> {
    const w = this.worker(worker);
    if (w.loaded) return;
    await w.request({ t: "ping", id: nextId++ });
    w.loaded = true;
  }

  /** Set once a spare isolated thread was started for a long call, until one is taken. */
  private warming = false;

  private prewarm(): void {
    this.warming = true;
    for (let i = this.shared; i < this.workers.length; i++) if (this.workers[i]!.installed.size === 0) return;
    if (this.isolatedCount < (this.options.isolated ?? 0)) this.workers.push(this.newWorker(this.workers.length, this.options.isolatedNice ?? 10));
  }

  /** What a worker re-creates the service from, if it is installed there. */
  installedSpec(worker: number, key: string): InstallSpec | undefined {
    return this.worker(worker).installed.get(key);
  }

  /** Each tenant's share of each worker since the last report; resets the sums. */
  private reportLoad(): void {
    const now = monotonicMs();
    const window = Math.max(1, now - this.loadAt);
    this.loadAt = now;
    const loads: TenantLoad[] = [];
    for (const w of this.workers) {
      if (w.busyMs.size > 0) {
        const byTenant = new Map<string, number>();
        for (const [key, ms] of w.busyMs) {
          const tenant = key.slice(0, key.indexOf("/"));
          byTenant.set(tenant, (byTenant.get(tenant) ?? 0) + ms);
        }
        w.busyMs.clear();
        for (const [tenant, ms] of byTenant) {
          loads.push({ tenant, worker: w.index, share: ms / window });
          // telemetry: a per-tenant busy-share gauge would go here (bounded labels: tenants placement moved).
        }
      }
      w.load = w.totalMs / window;
      w.totalMs = 0;
    }
    this.options.onLoad?.(loads);
  }

  /**
   * Creates the service's instance on a worker; resolves to its memory bytes at start. `lazy`:
   * its start code is proven, so the instance is made by its first call (0 bytes now).
   * `recreating`: a proven service the host re-creates on its own account (a move, a host
   * restart's recovery): its start gets at least RECREATE_DEADLINE_MS.
   */
  async install(worker: number, spec: InstallSpec, lazy?: LazyStart, recreating = false): Promise<number> {
    const w = this.worker(worker);
    const bytes = await w.sendInstall(spec, lazy, recreating);
    w.installed.set(spec.key, spec);
    return bytes ?? 0;
  }

  /** Sets a tenant's quota on its worker (a no-op when unchanged); in force from the next message. */
  setQuota(worker: number, tenant: string, quota: WorkerQuota): void {
    const w = this.worker(worker);
    const old = w.quotas.get(tenant);
    if (old && (Object.keys(quota) as (keyof WorkerQuota)[]).every((k) => old[k] === quota[k])) return;
    w.setQuota(tenant, { ...quota });
  }

  /**
   * Hot swap, step 1: instantiates `spec` beside the service's running instance (same kv copy) and
   * checks its health; resolves to its memory bytes. Until activate, calls still run on the old one.
   */
  async prepare(worker: number, spec: InstallSpec, health?: HealthRequest, fresh = false): Promise<number> {
    // `fresh`: the service has no running instance (it failed), so it gets the committed kv.
    const kv = fresh ? { kv: await spec.loadKv() } : {};
    const w = this.worker(worker);
    const secrets = w.secretSnapshot(spec);
    const ack = await w.requestAck({ t: "prepare", id: nextId++, key: spec.key, run: spec.run, ...(spec.file && { file: spec.file }), limits: spec.limits, capabilities: spec.capabilities, ...(health ? { health } : {}), ...kv, ...(secrets && { secrets }) }, undefined);
    // Undefined: the worker was replaced before it answered, so nothing was checked.
    if (!ack) throw new SoloError("UNAVAILABLE", "the worker was replaced while the new version was being prepared; nothing changed; swap again", { retryAfterMs: 1000 });
    if (ack.denied) spec.onDenied?.(ack.denied);
    return ack.memoryBytes ?? 0;
  }

  /** Step 2: the prepared instance's migrate(fromVersion); resolves to its kv writes. */
  async migrate(worker: number, key: string, fromVersion: number): Promise<Pick<AckMessage, "writes" | "kvBytes" | "fuel">> {
    const ack = await this.worker(worker).requestAck({ t: "migrate", id: nextId++, key, fromVersion });
    if (!ack) throw new SoloError("UNAVAILABLE", "the worker was replaced while the new version migrated; swap again");
    return ack;
  }

  /**
   * Step 3: the prepared instance becomes the service's, and `spec` is what a replaced worker
   * re-creates from now on. If the worker lost the prepared instance (it was replaced), the new
   * version is installed afresh from `spec` with the committed kv.
   */
  async activate(worker: number, spec: InstallSpec): Promise<void> {
    const w = this.worker(worker);
    w.installed.set(spec.key, spec);
    w.dormant.delete(spec.key);
    try {
      await w.requestAck({ t: "activate", id: nextId++, key: spec.key });
    } catch (err) {
      if (!(err instanceof SoloError) || err.code !== "UNAVAILABLE") throw err;
      await w.sendInstall(spec, undefined, true); // proven when prepared: the thread went, not the guest
    }
  }

  /** The swap failed: the prepared instance is dropped. */
  async abort(worker: number, key: string): Promise<void> {
    await this.worker(worker).request({ t: "abort", id: nextId++, key });
  }

  /** Runs the service's health check on its running instance; rejects with what failed. */
  async health(worker: number, key: string, health?: HealthRequest): Promise<void> {
    const w = this.worker(worker);
    await w.request({ t: "health", id: nextId++, key, ...(health ? { health } : {}) });
    w.dormant.delete(key); // the check made its instance if it had none
  }

  async uninstall(worker: number, key: string): Promise<void> {
    const w = this.worker(worker);
    w.installed.delete(key);
    w.dormant.delete(key);
    await w.request({ t: "uninstall", id: nextId++, key });
  }

  /** Replaces a service's kv copy with the committed state (after a failed commit); lifts markKvStale marks up to `gen` (0: none). */
  async reloadKv(worker: number, key: string, kv: [string, string][], gen = 0): Promise<void> {
    await this.worker(worker).request({ t: "reload-kv", id: nextId++, key, kv, gen });
  }

  /**
   * The service's copy is to be reloaded (reload `gen`): from this message on, in order with the
   * calls sent to the worker, calls from its other services to it are refused without running it.
   */
  markKvStale(worker: number, key: string, gen: number): void {
    this.worker(worker).request({ t: "kv-stale", id: nextId++, key, gen }).catch(() => {});
  }

  /** A secret was stored (value) or removed (null): the workers running services granted it hear it before any later call. */
  updateSecret(tenant: string, name: string, value: string | null, seq: number): void {
    for (const w of this.workers) w.postSecret(tenant, name, value, seq);
  }

  /** Never rejects: every call settles with a result. Throws (synchronously) only when `worker` is not one of the pool's. */
  call(worker: number, key: string, request: string): Promise<CallResult> {
    let answered!: (r: CallResult) => void;
    const result = new Promise<CallResult>((resolve) => (answered = resolve));
    this.send(worker, key, request, answered); // outside the executor: a bad worker throws here, not as a rejection
    return result;
  }

  /**
   * call() without its promise: `answered` gets the result, exactly once (errors, a replaced
   * worker, a closed pool included), called from the loop that takes results in, so it must not
   * throw. For the supervisor's hot path, whose own promise is the caller's: one promise a call
   * instead of two, and one microtask fewer. Throws (synchronously) when `worker` is not one of the pool's.
   */
  send(worker: number, key: string, request: string, answered: (r: CallResult) => void): void {
    this.worker(worker).enqueue({ id: nextId++, key, request, resolve: answered, attempts: 1, at: 0 });
  }

  /** Whether the service installed on `worker` has a live instance now (false: evicted, or not called since a lazy install). */
  isLive(worker: number, key: string): boolean {
    return !this.workers[worker]?.dormant.has(key);
  }

  /** Instances over every worker: live now (as of each worker's last message), created and evicted ever. */
  instanceCounts(): InstanceCounts {
    const sum: InstanceCounts = { live: 0, created: 0, evicted: 0 };
    for (const w of this.workers) {
      sum.live += w.instances.live;
      sum.created += w.past.created + w.instances.created;
      sum.evicted += w.past.evicted + w.instances.evicted;
    }
    return sum;
  }

  /** Lone calls whose answer the API thread spun for (call-ring.ts), and how many answers the spin caught. */
  spinCounts(): { spun: number; caught: number } {
    const sum = { spun: 0, caught: 0 };
    for (const w of this.workers) {
      sum.spun += w.spins.spun;
      sum.caught += w.spins.caught;
    }
    return sum;
  }

  /** Each worker: whether it has a thread, and calls posted to it and not answered (queued or running). Read at a scrape or an audit. */
  workerStates(): { worker: number; alive: boolean; calls: number }[] {
    return this.workers.map((w) => ({ worker: w.index, alive: w.alive, calls: w.calls.size }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.watchdog);
    if (this.loadTimer) clearInterval(this.loadTimer);
    await Promise.all(this.workers.map((w) => w.close()));
  }

  private worker(i: number): PoolWorker {
    const w = this.workers[i];
    if (!w) throw new SoloError("INTERNAL", `no worker ${i}`);
    return w;
  }

  private checkDeadlines() {
    const now = monotonicMs();
    for (const w of this.workers) {
      if (w.busy === 0) continue;
      const deadline = w.state[WATCH.deadline]!;
      // A call on a shared worker running long may make its tenant heavy when it answers: an
      // isolated thread starts loading now, so the move need not wait for it (a spare is harmless).
      if (deadline !== 0 && w.index < this.shared && !this.warming && now - w.state[WATCH.started]! >= w.longCallMs) this.prewarm();
      if (deadline !== 0 && now > deadline) {
        const running = w.state[WATCH.running]!;
        // A call stopped here never answers through the results, yet it held the worker for its
        // whole deadline and now costs every neighbour a replaced thread: its tenant is heavy
        // (placement moves it off a shared worker), however short its deadline.
        const stopped = running > 0 ? w.calls.get(running) : undefined;
        if (stopped) w.onLongCall?.(stopped.key.slice(0, stopped.key.indexOf("/")), w.index, Math.max(now - w.state[WATCH.started]!, w.longCallMs));
        this.restarts++;
        this.options.onRestart?.(w.index, "deadline");
        // A call making its instance (evicted, trapped before, or a cached deploy) overran in the
        // start code: a failed start, which crash supervision counts (backs off, then fails the
        // service), else every next call would run the start again and cost a thread each time.
        const starting = stopped !== undefined && w.state[WATCH.starting] === 1;
        const what = running < 0 ? "starting the service (instantiation and its start function)" : starting ? "making the service's instance for this call (instantiation and its start function)" : "the call";
        // The deadline it ran under: an install's may be a re-creation's floor, not the service's own.
        const install = running < 0 ? w.acks.get(-running) : undefined;
        const ms = starting ? w.installed.get(stopped.key)?.limits.deadlineMs : install ? install.startDeadlineMs ?? install.spec?.limits.deadlineMs : undefined;
        const deadline = ms !== undefined ? ` of ${ms} ms` : "";
        const fix = starting ? "make the start code (top-level code) do less, or raise limits.deadlineMs; it counts as a crash, and a service whose start keeps failing is backed off, then failed"
          : install?.startDeadlineMs !== undefined ? `make the start code (top-level code) do less: this was a re-creation by the host, which allows at least ${RECREATE_DEADLINE_MS} ms whatever limits.deadlineMs says`
          : "make it faster or raise limits.deadlineMs";
        w.restart(running, { code: "DEADLINE_EXCEEDED", message: `${what} ran past its deadline${deadline} and was stopped; ${fix}` }, starting).catch((err) => w.abandon(err));
      }
    }
  }

  private onDeath(w: PoolWorker, code: number) {
    const running = w.running;
    const why = w.lastError ? `${w.lastError} (exit code ${code})` : `exit code ${code}`;
    this.restarts++;
    this.options.onRestart?.(w.index, why);
    w.restart(running, { code: "UNAVAILABLE", message: `the worker running this stopped (${why}); the service was restarted` }).catch((err) => w.abandon(err));
  }
}
