// A worker thread that runs guest instances. Each installed service has one Sandbox and a copy of
// its kv. Calls run to completion one after another, in fair order between tenants (call-queue.ts);
// fuel bounds each, and the host's watchdog terminates the thread if a call outlives its deadline.
// Scale to zero: an instance not called for idleMs, or the least recently used one past maxLive,
// is dropped; the service keeps its slot (its kv copy, grants, emit budget) and its next call
// re-creates the instance from the compiled module, as after a trap.
import { randomFillSync } from "node:crypto";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { SoloError, toSoloError } from "../errors.ts";
// The guest worker loads only the wasm files it runs with (the folder's index would add ~100 ms
// of module loading to every worker start and restart); types come through the index.
import { ensureWasmFeatures } from "../wasm/engine.ts";
import type { LogLevel } from "../wasm/index.ts";
import { fail, type GuestEnv, type WitResult } from "./guest-env.ts";
import { CAPABILITY_NAME, guestGrants } from "../capability/guest.ts";
import { KvView } from "./kv-view.ts";
import { LINGER_MS, RING, Ring, SPIN_MS, recentMs } from "./call-ring.ts";
import { WATCH, monotonicMs, type CallResult, type CallsMessage, type FromWorker, type HealthRequest, type InstallMessage, type InstanceCounts, type InstanceLimits, type PrepareMessage, type ResultsMessage, type RunSpec, type Sequenced, type ToWorker, type WireError } from "./protocol.ts";
import { Sandbox } from "./sandbox.ts";
import type { CallOutcome } from "./outcome.ts";
import { GlueSandbox, type Glue } from "./glue-sandbox.ts";
import { ComponentSandbox } from "./component-sandbox.ts";
import { memoryPool } from "./memory-pool.ts";
import type { GuestInstance } from "./guest-instance.ts";
import { JavySandbox } from "./javy-sandbox.ts";
import { memoryQuotaError, setTenantQuota, tenantOf, type TenantState } from "./tenant-quota.ts";
import { WorkerSecrets } from "./worker-secrets.ts";
import { CallQueue, type QueuedCall } from "./call-queue.ts";
import { ServiceCalls } from "./service-calls.ts";
import { EmitBudget, emitFrom } from "./guest-events.ts";

ensureWasmFeatures();

const { watch, nice, idleMs = 0, maxLive = 0, rings, spinMs = SPIN_MS } = workerData as { watch: SharedArrayBuffer; nice?: number; idleMs?: number; maxLive?: number; rings?: [calls: SharedArrayBuffer, results: SharedArrayBuffer]; spinMs?: number };
/** The ring channel (call-ring.ts), when the pool uses it: calls come in on one, results go out on the other. */
const callRing = rings && new Ring(rings[0]);
const resultRing = rings && new Ring(rings[1]);
/** The next sequence number expected from the pool, and the next this worker sends (ring channel only). */
let inSeq = 0;
let outSeq = 0;
/** The sequence number of the last message taken from the pool (-1: none): the ring's `posted` differs while one is on its way. */
let lastMessage = -1;
const parent = parentPort!;
/** With the ring channel, every message to the pool takes its place in the sequence of result batches. */
const port = {
  postMessage(msg: FromWorker): void {
    if (!resultRing) return parent.postMessage(msg);
    const seq = outSeq;
    msg.chan = seq;
    parent.postMessage(msg);
    outSeq = (seq + 1) | 0;
    // A pool spinning on the ring for a result (pool.ts: spinForResult) stops when it sees this.
    Atomics.store(resultRing.header, RING.posted, seq);
  },
};
// An isolated worker (heavy tenants, services/placement.ts) runs at a lower OS priority: on Linux
// the nice value is per thread, so light tenants' threads and the API thread come first. It can
// never be raised back without privileges, so only threads that stay isolated are lowered.
if (nice) {
  try {
    setPriority(0, nice);
  } catch {
    // Not permitted here (a platform without per-thread priorities): the thread only time-slices.
  }
}
const state = new Float64Array(watch);
const MAX_LOGS_PER_CALL = 100;
const MAX_LOG_CHARS = 8192;
/** Distinct denied imports reported per call (more would only repeat the lesson). */
const MAX_DENIED_PER_CALL = 20;

/** When the running outer call, install or check started: what `Slot.lastUsed` is set to. */
let clockMs = 0;
/** Counts outer calls, installs and checks: a slot used by the running one is never evicted. */
let epoch = 0;

/** Puts `running` (a call id, or minus an install's id) under the watchdog's deadline. */
function watchStart(running: number, deadlineMs: number) {
  const now = monotonicMs();
  clockMs = now;
  epoch++;
  state[WATCH.running] = running;
  state[WATCH.started] = now;
  state[WATCH.starting] = 0;
  state[WATCH.deadline] = now + deadlineMs;
}
/** Ends the watched work; answers how long it ran (ms), what its tenant is charged for placement. */
function watchEnd(): number {
  state[WATCH.deadline] = 0;
  state[WATCH.starting] = 0;
  return monotonicMs() - state[WATCH.started]!;
}

const randomPool = new BigUint64Array(256);
let randomAt = randomPool.length;
function nextU64(): bigint {
  if (randomAt === randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  return randomPool[randomAt++]!;
}

/** Values of the secrets granted to services here, per tenant (worker-secrets.ts). */
const secrets = new WorkerSecrets();

/** jco glue modules, loaded once per URL (one per component shape). */
const glues = new Map<string, Glue>();

function randomFill(target: Uint8Array): void {
  randomFillSync(target);
}

/**
 * Live instances of running services, least recently used first (Set order: touch moves a slot to
 * the end), so the idle sweep stops at the first slot used recently. A version prepared by a swap
 * is not here until it is activated: nothing evicts it.
 */
const lru = new Set<Slot>();
const counts: InstanceCounts = { live: 0, created: 0, evicted: 0 };
let countsChanged = false;
/** Services evicted since the worker's last message, and the pending result each came before. */
let evictedKeys: string[] = [];
let evictedAt: number[] = [];

/**
 * Evicts the least recently used instance not in use by the running call chain, to make room under
 * the live cap (its memories go back whole: the instance wanting the room takes them); false if none.
 */
function evictOne(): boolean {
  for (const s of lru) {
    if (s.usedIn === epoch) continue;
    s.evict(true);
    return true;
  }
  return false;
}

/**
 * One copy of each artifact's run spec in this worker. Every install message brings its own clone
 * of the spec (a TypeScript guest's plan and source map are ~75 KiB); a service keeps the copy the
 * first service of its artifact brought, and the clone it came with is garbage at once. Weak, so a
 * spec no service runs any more is collected.
 */
const runs = new Map<string, WeakRef<RunSpec>>();
const runGone = new FinalizationRegistry<string>((hash) => {
  if (runs.get(hash)?.deref() === undefined) runs.delete(hash);
});
function sharedRun(run: RunSpec): RunSpec {
  if (run.hash === undefined) return run;
  const known = runs.get(run.hash)?.deref();
  if (known && known.kind === run.kind) return known;
  runs.set(run.hash, new WeakRef(run));
  runGone.register(run, run.hash);
  return run;
}

const NO_SECRETS: ReadonlySet<string> = new Set();

class Slot {
  sandbox: GuestInstance | undefined;
  /** In `slots` (a running service, not a prepared version): its instance may be evicted. */
  serving = false;
  /** clockMs and epoch of the last call, install or check that used the instance. */
  lastUsed = 0;
  usedIn = 0;
  logs: [LogLevel, string][] = [];
  /** Imports denied in the running call or install, each once; undefined (no array) when none. */
  denied: string[] | undefined;
  /** Secrets the running call read, each once; undefined when none. */
  reads: string[] | undefined;
  readonly secretNames: ReadonlySet<string>;
  readonly kv: KvView;
  readonly tenant: TenantState;
  /** The instance's memory as its tenant's sum counts it (0 while there is no instance). */
  mem = 0;
  /** The running call's emits (undefined outside a call), refusals, and the service's emit rate. */
  emits: [string, string][] | undefined;
  emitsRefused = 0;
  readonly emitBudget = new EmitBudget();
  /** `kv`: the running version's view, shared by a new version prepared beside it (a swap). */
  constructor(readonly msg: Omit<InstallMessage, "t" | "kv"> & { kv?: [string, string][] }, kv?: KvView) {
    msg.run = sharedRun(msg.run);
    this.tenant = tenantOf(msg.key);
    // Its memories are made ahead, off the hot path, so its first instance finds them touched.
    // A shape the pool cannot read only means no memory is made ahead: the instance makes its own.
    if (msg.run.kind === "component") for (const shape of Object.values(msg.run.plan.memories ?? {})) {
      try {
        memoryPool.expect(shape);
      } catch {
        // Nothing made ahead for it.
      }
    }
    this.kv = kv ?? new KvView(msg.kv ?? [], msg.limits.kv, this.tenant);
    // The slot keeps its message for as long as the service is here (a dormant one too): not its kv twice.
    delete msg.kv;
    const g = guestGrants(msg.capabilities);
    this.secretNames = g.secrets.size ? g.secrets : NO_SECRETS;
    if (msg.secrets) secrets.install(msg.key.slice(0, msg.key.indexOf("/")), msg.secrets);
  }
  /** The imports' functions, made with the first instance: a dormant service holds none of them (~1 KiB each). */
  get env(): GuestEnv {
    return (this.madeEnv ??= this.makeEnv());
  }
  private madeEnv: GuestEnv | undefined;
  private makeEnv(): GuestEnv {
    // The capability check is chosen here, once per slot: a granted import costs nothing more.
    const g = guestGrants(this.msg.capabilities);
    const tenantName = this.msg.key.slice(0, this.msg.key.indexOf("/"));
    const deny = <T>(label: string, what: string, capability: string): WitResult<T> => {
      this.deny(label);
      return fail<T>("access-denied", `${what} is not granted to this service; deploy it with capability ${JSON.stringify(capability)}`);
    };
    const kvDenied = <T>(label: string) => deny<T>(label, "kv", "kv");
    const badName = <T>(what: string, name: string) =>
      fail<T>("invalid", `${what} ${JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name)} is malformed: use 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit`);
    return {
      log: g.log
        ? (level, message) => {
          if (this.logs.length < MAX_LOGS_PER_CALL) this.logs.push([level, message.length > MAX_LOG_CHARS ? message.slice(0, MAX_LOG_CHARS) : message]);
        }
        : () => this.deny("log"), // the line is dropped
      kvGet: g.kv ? (k) => this.kv.get(k) : () => kvDenied("kv.get"),
      kvSet: g.kv ? (k, v) => this.kv.set(k, v) : () => kvDenied("kv.set"),
      kvDelete: g.kv ? (k) => this.kv.delete(k) : () => kvDenied("kv.delete"),
      kvKeys: g.kv ? (p) => this.kv.keys(p) : () => kvDenied("kv.keys"),
      kvCount: () => this.kv.count,
      secretGet: (name) => {
        if (!CAPABILITY_NAME.test(name)) return badName("secret name", name);
        if (!g.secrets.has(name)) return deny(`secrets.get(${name})`, `secret ${JSON.stringify(name)}`, `secret:${name}`);
        const r = secrets.get(tenantName, name);
        if (r.ok) {
          const reads = (this.reads ??= []);
          if (!reads.includes(name)) reads.push(name);
        }
        return r;
      },
      serviceCall: (callee, request, meter) => {
        if (!CAPABILITY_NAME.test(callee)) return badName("service name", callee);
        return g.calls.has(callee) ? serviceCalls.call(this, callee, request, meter) : deny(`services.call(${callee})`, `calling service ${JSON.stringify(callee)}`, `call:${callee}`);
      },
      emit: g.emit ? (kind, data) => emitFrom(this, kind, data) : () => deny("events.emit", "emit", "emit"),
      nextU64: g.random ? nextU64 : () => (this.deny("random.next-u64"), 0n),
      nowMs: g.clock ? () => BigInt(Date.now()) : () => (this.deny("clock.now-ms"), 0n),
      monotonicNs: g.clock ? () => process.hrtime.bigint() : () => (this.deny("clock.monotonic-ns"), 0n),
      randomFill: g.random ? randomFill : (target) => (this.deny("random.get"), void target.fill(0)),
    };
  }
  private deny(label: string): void {
    const d = (this.denied ??= []);
    if (d.length < MAX_DENIED_PER_CALL && !d.includes(label)) d.push(label);
  }
  get limits(): InstanceLimits {
    return this.msg.limits;
  }
  /** Fuel one call gets: the service's own limit, or less under its tenant's fuelPerCall quota. */
  get fuel(): number {
    return Math.min(this.limits.fuel, this.tenant.quota.fuelPerCall);
  }
  /** What the instance may grow to now: its own limit, or what its tenant's quota leaves it. */
  memoryCap(): number {
    return Math.min(this.limits.memoryBytes, this.tenant.quota.memoryBytes - (this.tenant.memoryBytes - this.mem));
  }
  /** Counts the instance's memory (0: it is gone) in its tenant's sum. */
  measure(bytes: number): void {
    this.tenant.memoryBytes += bytes - this.mem;
    this.mem = bytes;
  }
  /** The instance goes (trapped, evicted, or the service is uninstalled): its memory leaves the tenant's sum. */
  drop(whole = false): void {
    if (this.sandbox) {
      counts.live--;
      countsChanged = true;
      this.sandbox.release?.(whole);
    }
    this.sandbox = undefined;
    lru.delete(this);
    this.measure(0);
  }
  /** Dropped to save memory (idle, or room for another: `whole`, see evictOne): the next call re-creates it. */
  evict(whole = false): void {
    this.drop(whole);
    counts.evicted++;
    evictedKeys.push(this.msg.key);
    evictedAt.push(pending.ids.length);
  }
  /** The running call, install or check uses the instance: most recently used, not evictable meanwhile. */
  touch(): void {
    this.lastUsed = clockMs;
    this.usedIn = epoch;
    if (this.serving) {
      lru.delete(this);
      lru.add(this);
    }
  }
  /** The instance, created if there is none (`installing`: for the service's install). */
  instance(installing = false): GuestInstance {
    if (!this.sandbox) {
      // The live cap: the least recently used instance goes first (never one of the running chain).
      if (maxLive > 0) while (counts.live >= maxLive && evictOne());
      const run = this.msg.run;
      // Instantiation and start code run with the service's own fuel and memory limits (memory:
      // at most what the tenant's quota leaves).
      const fuel = this.fuel;
      const memoryBytes = this.memoryCap();
      try {
        this.create(run, memoryBytes, fuel);
      } catch (err) {
        const e = toSoloError(err);
        const others = this.tenant.memoryBytes - this.mem;
        if (e.code === "MEMORY_LIMIT" && memoryBytes < this.limits.memoryBytes) throw memoryQuotaError(this.tenant, Number(e.details?.memoryBytes ?? 0), others, installing);
        throw e;
      }
      counts.live++;
      counts.created++;
      countsChanged = true;
      this.measure(this.sandbox!.memoryBytes);
    }
    this.touch();
    return this.sandbox!;
  }
  private create(run: Slot["msg"]["run"], memoryBytes: number, fuel: number): void {
    // Failures name the guest's file as its deploy did (older callers: the service's name).
    const file = this.msg.file ?? this.msg.key.slice(this.msg.key.indexOf("/") + 1);
    if (run.kind === "core") this.sandbox = Sandbox.create(run.module, { encoding: run.encoding, memoryLimitBytes: memoryBytes, startFuel: fuel, env: this.env, lifecycle: run.lifecycle, source: { file } });
    else if (run.kind === "javy") this.sandbox = new JavySandbox(run.module, this.env, memoryBytes, fuel);
    else if (run.kind === "component") this.sandbox = new ComponentSandbox(run.plan, run.modules, this.env, memoryBytes, fuel, { file, ...(run.sourceMap && { sourceMap: run.sourceMap }) });
    else {
      const glue = glues.get(run.glueUrl);
      if (!glue) throw new SoloError("INTERNAL", "glue module not loaded");
      this.sandbox = new GlueSandbox(glue, run.modules, this.env, memoryBytes, fuel, { file, ...(run.sourceMap && { sourceMap: run.sourceMap }) });
    }
  }
}

const slots = new Map<string, Slot>();
/** New versions prepared beside the running one (a swap), waiting for activate or abort. */
const prepared = new Map<string, Slot>();
/** services.call between the services on this worker (runtime/service-calls.ts). */
/**
 * Services whose kv copy is being reloaded after a failed commit, with the latest reload's number:
 * services.call to one is refused without running it, so a nested call cannot write on a copy
 * that is about to be replaced (its writes would be refused anyway, and would start a reload of
 * their own that outdates this one: callers through it would be refused for as long as they call).
 * This relies on a result with nested writes going back by message, not by ring (it has `extra`):
 * the host takes it in before the reload's ack, so it never meets a copy already reloaded.
 */
const staleKv = new Map<string, number>();
const serviceCalls = new ServiceCalls((key) => slots.get(key), undefined, (key) => staleKv.has(key));

function wire(err: unknown): WireError {
  const e = toSoloError(err);
  return e.details === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, details: e.details };
}

/** The emits array a call starts with, reused while calls emit nothing (runCall). */
let spareEmits: [string, string][] = [];

/** How long the last runCall kept the worker busy (0 when it ran nothing). */
let lastCallMs = 0;

/**
 * Services whose start failed in a call whose result is still pending (cleared when the results
 * go): their other calls in the same message get the same error without running the start again,
 * so a burst costs one start, and the host counts one crash for it, not one per call.
 */
const failedStarts = new Map<string, WireError>();

function runCall(id: number, key: string, request: string): CallResult {
  lastCallMs = 0;
  const slot = slots.get(key);
  if (!slot) return { id, error: { code: "NOT_FOUND", message: `service ${key} is not running` }, fuel: 0, memoryBytes: 0 };
  const restarted = slot.sandbox === undefined;
  if (restarted && failedStarts.size > 0) {
    const error = failedStarts.get(key);
    if (error) return { id, error, fuel: 0, memoryBytes: 0, startFailed: true }; // nothing ran: nothing charged
  }
  const limits = slot.limits;
  const fuel = slot.fuel;
  // The deadline covers re-creating a trapped instance too (its start code is guest code).
  watchStart(id, limits.deadlineMs);
  slot.denied = undefined; // start code re-run below reports its denials with this call
  slot.reads = undefined;
  let sandbox: GuestInstance;
  if (restarted) state[WATCH.starting] = 1;
  try {
    sandbox = slot.instance();
  } catch (err) {
    lastCallMs = watchEnd();
    // A failed start is charged the whole fuel it had (instance() starts with slot.fuel), as a
    // trapped call is: a trap skips the counter's last write-back, so what it says may be less.
    const error = wire(err);
    failedStarts.set(key, error);
    const failed: CallResult = { id, error, fuel, memoryBytes: 0, startFailed: true };
    if (slot.denied) failed.denied = slot.denied;
    return failed;
  }
  state[WATCH.starting] = 0;
  // The call pays for the instance it made (its tenant's fuelPerSecond counts it), then its own run.
  const startFuel = restarted ? sandbox.startFuel : 0;
  slot.kv.begin();
  // Arrays only when the last call's went out with its result: an echo-like call allocates none.
  if (slot.logs.length > 0) slot.logs = [];
  spareEmits.length = 0; // a failed call's emits were dropped
  slot.emits = spareEmits;
  slot.emitsRefused = 0;
  serviceCalls.begin(key.slice(key.indexOf("/") + 1));
  let outcome: CallOutcome;
  const cap = slot.memoryCap();
  try {
    outcome = sandbox.call(request, fuel, limits.maxResponseBytes, cap);
  } catch (err) {
    // A fault of the host's own binding, not the guest's: the call fails, the worker lives on.
    const e = toSoloError(err);
    outcome = { ok: false, code: e.code, message: e.message, fuel: 0, memoryBytes: 0, trapped: true };
  }
  lastCallMs = watchEnd();
  const nested = serviceCalls.end();
  const emits = slot.emits;
  slot.emits = undefined;
  if (!outcome.ok && outcome.code === "MEMORY_LIMIT" && cap < limits.memoryBytes) {
    // The tenant's quota refused it, not the service's own limit: the error says so.
    const e = memoryQuotaError(slot.tenant, outcome.memoryBytes, slot.tenant.memoryBytes - slot.mem, false);
    outcome = { ...outcome, message: e.message, details: e.details };
  }
  slot.measure(sandbox.memoryBytes);
  const result: CallResult = { id, fuel: startFuel + outcome.fuel, memoryBytes: outcome.memoryBytes };
  if (restarted) result.restarted = true;
  if (slot.logs.length > 0) result.logs = slot.logs;
  if (slot.denied) result.denied = slot.denied;
  if (slot.reads) result.secrets = slot.reads;
  if (nested) result.nested = nested;
  if (slot.emitsRefused) result.emitsRefused = slot.emitsRefused;
  if (outcome.ok) {
    result.output = outcome.output;
    if (emits.length) {
      result.emits = emits;
      spareEmits = [];
    }
    const writes = slot.kv.commit();
    if (writes) {
      result.writes = writes;
      result.kvBytes = slot.kv.totalBytes;
    }
  } else {
    slot.kv.begin();
    result.error = outcome.details === undefined ? { code: outcome.code, message: outcome.message } : { code: outcome.code, message: outcome.message, details: outcome.details };
    if (outcome.trapped) slot.drop(); // re-created for the next call
  }
  return result;
}

/** Calls waiting, in fair order between tenants (call-queue.ts); other messages are barriers. */
const queue = new CallQueue<ToWorker>();
/** A drain is scheduled (the worker yielded to take in new messages). */
let yielded = false;
/**
 * How long the worker runs queued calls before it looks at its messages again: calls that
 * arrived meanwhile then take their fair turn. A call longer than this is never cut; the look
 * comes after it.
 */
const YIELD_AFTER_MS = 1;
/** Tenants whose last call here ran YIELD_AFTER_MS or more: results and new messages are taken care of before their next call. */
const slow = new Set<string>();

function onCalls(msg: CallsMessage) {
  for (let i = 0; i < msg.ids.length; i++) {
    const key = msg.keys[i]!;
    queue.push({ id: msg.ids[i]!, key, request: msg.requests[i]!, tenant: key.slice(0, key.indexOf("/")) });
  }
  if (!yielded && !callRing) drain(); // with the ring, the message listener drains
}

/**
 * Results not yet sent, across turns. They go back when the queue is empty, before a barrier, and
 * before a call of another tenant than theirs: a tenant's results never wait for another tenant's
 * call, and a burst of one tenant's calls still goes back in one message, as one batch did (the API
 * thread then commits and appends what they cause in one batch).
 */
const pending = {
  ids: [] as number[], outputs: [] as (string | null)[], fuels: [] as number[], memoryBytes: [] as number[], times: [] as number[],
  extra: undefined as ResultsMessage["extra"],
  /** The tenant of every pending result, or null when they are of several. */
  tenant: undefined as string | null | undefined,
};

function sendResults() {
  const p = pending;
  const n = p.ids.length;
  if (n === 0) return;
  memoryPool.busy();
  // sent: one clock read per batch; the host's admission measures each call's wait by it.
  const sent = monotonicMs();
  // The ring takes plain results (output, fuel, memory, time); a batch with more (an extra,
  // evictions, changed instance counters) goes by message, in its place in the sequence.
  if (resultRing && p.extra === undefined && evictedKeys.length === 0 && !countsChanged && resultRing.writeResults(outSeq, p, n, sent)) outSeq = (outSeq + 1) | 0;
  else send({ t: "results", ids: p.ids, outputs: p.outputs, fuels: p.fuels, memoryBytes: p.memoryBytes, times: p.times, sent, extra: p.extra } satisfies FromWorker);
  if (failedStarts.size > 0) failedStarts.clear();
  // Copied (into the ring, or by postMessage's clone): the arrays are reused.
  p.ids.length = 0;
  p.outputs.length = 0;
  p.fuels.length = 0;
  p.memoryBytes.length = 0;
  p.times.length = 0;
  p.extra = undefined;
  p.tenant = undefined;
}

/** Posts to the host, with the evictions and the counters it has not heard of yet. */
function send(msg: FromWorker): void {
  if (evictedKeys.length > 0) {
    if (msg.t === "results") {
      msg.evicted = evictedKeys;
      msg.evictedAt = evictedAt;
    } else if (msg.t === "ack") msg.evicted = evictedKeys;
    else msg.keys = evictedKeys;
    evictedKeys = [];
    evictedAt = [];
  }
  if (countsChanged) {
    msg.instances = { ...counts };
    countsChanged = false;
  }
  port.postMessage(msg);
}

/**
 * Drops the instances no call, install or check used for idleMs. The LRU set is in order of last
 * use, so the sweep stops at the first recent one: it costs the evictions, not the services.
 */
function sweepIdle(): void {
  const before = monotonicMs() - idleMs;
  let any = false;
  for (const s of lru) {
    if (s.lastUsed > before) break;
    // Results of calls that ran before go first: the host applies what it hears in order.
    if (!any) sendResults();
    any = true;
    s.evict();
  }
  if (any) send({ t: "evicted", keys: [], instances: counts });
}
if (idleMs > 0) setInterval(sweepIdle, Math.max(5, idleMs / 2)).unref();

/** Gives the event loop a turn (messages that arrived are queued), then goes on with `c` first unless a fairer call came. */
function yieldBefore(c: QueuedCall | undefined) {
  if (c) queue.putBack(c);
  const p = pending;
  if (p.ids.length > 0 && (c === undefined || p.tenant !== c.tenant)) sendResults();
  yielded = true;
  setImmediate(drain);
}

/** With the ring channel, the longest a drain runs and lingers before the event loop gets a turn. */
const RING_TURN_MS = 10;

/**
 * Runs what is queued: calls in fair order, barriers in their place. After YIELD_AFTER_MS of
 * calls, and before a call of a tenant whose last call was slow, the worker yields (setImmediate)
 * so messages that arrived meanwhile are queued before it chooses the next call; results of other
 * tenants go back before that call runs.
 */
function drain() {
  yielded = false;
  const began = callRing ? monotonicMs() : 0;
  for (;;) {
    if (callRing && waiting.length === 0) pullRing(undefined);
    if (!runQueued()) return;
    if (!callRing || waiting.length > 0) return;
    // Under steady ring traffic the thread would never leave this loop: its timers (the idle
    // sweep, memory upkeep) get a turn of the event loop every RING_TURN_MS.
    if (monotonicMs() - began >= RING_TURN_MS) {
      yielded = true;
      setImmediate(drain);
      return;
    }
    if (!linger()) return;
  }
}

/** Runs the queue until it is empty (true), or until the worker yields or a glue load gates it (false). */
function runQueued(): boolean {
  const started = monotonicMs();
  let ran = false;
  for (;;) {
    if (gate) break; // a barrier is loading glue: the rest waits for it (see handle)
    const next = queue.next();
    if (!next) break;
    if ("barrier" in next) {
      sendResults();
      handle(next.barrier);
      continue;
    }
    const c = next.call;
    if (ran && (slow.has(c.tenant) || monotonicMs() - started >= YIELD_AFTER_MS)) {
      yieldBefore(c);
      return false;
    }
    ran = true;
    const r = runCall(c.id, c.key, c.request);
    queue.charge(c.tenant, lastCallMs);
    if (lastCallMs >= YIELD_AFTER_MS) slow.add(c.tenant);
    else if (slow.size > 0) slow.delete(c.tenant);
    const p = pending;
    if (p.ids.length === 0) p.tenant = c.tenant;
    else if (p.tenant !== c.tenant) p.tenant = null;
    const i = p.ids.length;
    p.ids.push(c.id);
    p.outputs.push(r.output ?? null);
    p.fuels.push(r.fuel);
    p.memoryBytes.push(r.memoryBytes);
    p.times.push(lastCallMs);
    if (r.error || r.writes || r.logs || r.denied || r.restarted || r.secrets || r.nested || r.emits || r.emitsRefused) (p.extra ??= {})[i] = { error: r.error, writes: r.writes, kvBytes: r.kvBytes, logs: r.logs, denied: r.denied, restarted: r.restarted, startFailed: r.startFailed, secrets: r.secrets, emits: r.emits, emitsRefused: r.emitsRefused, nested: r.nested };
  }
  sendResults();
  queue.prune();
  if (slow.size > 1024) slow.clear();
  return !gate;
}

/** Calls the ring holds, in order, up to (without) the message numbered `until`; stops at a gap (that message comes first). */
function pullRing(until: number | undefined): void {
  const ring = callRing!;
  for (;;) {
    const at = ring.peek();
    if (at < 0) return;
    const seq = ring.seqAt(at);
    if (seq !== inSeq || seq === until) return;
    inSeq = (seq + 1) | 0;
    memoryPool.busy(); // calls in, as a calls message would be: upkeep waits for a quiet spell
    lastBatch = ring.readCalls(at, takeCall);
    ring.consume(at);
  }
}

function takeCall(id: number, key: string, request: string): void {
  // Behind a glue load, calls wait in order with the messages that arrived before them.
  if (gate || waiting.length > 0) waiting.push({ t: "calls", ids: [id], keys: [key], requests: [request] });
  else queue.push({ id, key, request, tenant: key.slice(0, key.indexOf("/")) });
}

/** How soon calls have come after the queue emptied, lately (ms): the worker spins only while it is under spinMs. */
let callGapMs = LINGER_MS;
/**
 * Calls in the last batch taken from the ring. The worker spins only after a batch of one: calls
 * made one at a time (an answer awaited before the next) come that way. Calls made together
 * come in batches, and there spinning would take a core from the API thread that is making them.
 */
let lastBatch = 0;

/**
 * With the queue empty, spins up to spinMs after a batch of one call while calls have been
 * following each other that closely (call-ring.ts), then waits up to LINGER_MS for calls in the ring (Atomics.wait: the thread
 * sleeps, and the event loop with it); true when some came. Then it parks: the pool sends a bell
 * with its next calls. A message the pool sent ends the wait (its listener drains after it).
 */
function linger(): boolean {
  const h = callRing!.header;
  // performance.now: this thread's clock, no allocation per read (the spin reads it often).
  const began = performance.now();
  const until = began + LINGER_MS;
  const spinUntil = lastBatch === 1 && callGapMs < spinMs ? began + spinMs : 0;
  for (;;) {
    // A message is on its way (a difference, not an order: the numbers wrap after 2^31).
    if (Atomics.load(h, RING.posted) !== lastMessage) return false;
    const seen = Atomics.load(h, RING.signal);
    pullRing(undefined);
    const now = performance.now();
    if (!queue.empty) {
      // A spin that missed counts as a whole linger: it takes a run of close calls to spin again.
      callGapMs = recentMs(callGapMs, spinUntil !== 0 && now >= spinUntil ? LINGER_MS : now - began);
      return true;
    }
    if (now >= until) break;
    if (now < spinUntil) continue;
    Atomics.wait(h, RING.signal, seen, until - now);
  }
  callGapMs = recentMs(callGapMs, LINGER_MS);
  Atomics.store(h, RING.parked, 1);
  // Calls written before the pool saw the flag get no bell: taken now.
  pullRing(undefined);
  if (queue.empty) return false;
  Atomics.compareExchange(h, RING.parked, 1, 0); // if the pool took the flag first, its bell finds nothing
  return true;
}

/** A message from the pool: calls join the queue; anything else runs now, or as a barrier behind queued calls. */
function receive(msg: ToWorker) {
  if (msg.t === "calls") return onCalls(msg);
  if (queue.empty && !yielded) return handle(msg);
  queue.barrier(msg);
  if (!yielded && !callRing) drain(); // with the ring, the message listener drains
}

/** After `key` went: its tenant keeps only the secrets its other services here are granted. */
function keepGrantedSecrets(key: string) {
  const prefix = key.slice(0, key.indexOf("/") + 1);
  const granted = new Set<string>();
  for (const [k, slot] of slots) if (k.startsWith(prefix)) for (const n of slot.secretNames) granted.add(n);
  for (const [k, slot] of prepared) if (k.startsWith(prefix)) for (const n of slot.secretNames) granted.add(n);
  secrets.keepOnly(prefix.slice(0, -1), granted);
}

// Loading jco glue is asynchronous: messages that arrive meanwhile wait, so order is kept.
let gate: Promise<void> | undefined;
const waiting: ToWorker[] = [];

parent.on("message", (msg: ToWorker & Sequenced) => {
  memoryPool.busy(); // the pool makes memories only when the worker has been quiet a while
  if (callRing) {
    // Calls written to the ring before this message run before it; those after it wait for it.
    if (msg.chan !== undefined) {
      pullRing(msg.chan);
      inSeq = (msg.chan + 1) | 0;
      lastMessage = msg.chan;
    }
    if (msg.t !== "bell") deliver(msg);
    if (!gate && !yielded) drain();
    return;
  }
  deliver(msg);
});

function deliver(msg: ToWorker) {
  if (gate) waiting.push(msg);
  else receive(msg);
}

function handle(msg: ToWorker) {
  if ((msg.t === "install" || msg.t === "prepare") && msg.run.kind === "glue" && !glues.has(msg.run.glueUrl)) {
    const url = msg.run.glueUrl;
    gate = import(url).then(
      (glue: Glue) => void glues.set(url, glue),
      (err: Error) => send({ t: "ack", id: msg.id, error: { code: "INTERNAL", message: `cannot load the component's glue: ${err.message}` } } satisfies FromWorker),
    ).then(() => {
      gate = undefined;
      if (glues.has(url)) handle(msg);
      // Queued calls and barriers first (they arrived before what waited), then what waited.
      if (!gate && !yielded) drain();
      while (!gate && waiting.length) receive(waiting.shift()!);
      if (callRing && !gate && !yielded) drain();
    });
    return;
  }
  switch (msg.t) {
    case "calls":
      onCalls(msg); // only from a glue load's waiting list
      return;
    case "install": {
      const slot = new Slot(msg);
      // Instantiation and the start function run under the service's deadline, like a call (a
      // re-creation the host makes on its own account: at least RECREATE_DEADLINE_MS).
      watchStart(-msg.id, msg.startDeadlineMs ?? msg.limits.deadlineMs);
      try {
        // Lazy: the first call makes the instance, unless the tenant's quota leaves less than the
        // proven start needed (then it is made now, to answer the quota's error at deploy).
        const lazy = msg.lazy !== undefined && msg.lazy.memoryBytes <= slot.memoryCap();
        // Past the tenant's memory quota a new service is refused: RESOURCE_EXHAUSTED.
        const sandbox = lazy ? undefined : slot.instance(true);
        // A re-install over a running one (a swap whose worker restarted mid-way): the old goes.
        const old = slots.get(msg.key);
        if (old) {
          old.drop();
          old.kv.dispose();
        }
        slots.set(msg.key, slot);
        slot.serving = true;
        if (sandbox) slot.touch(); // now in the LRU set
        send({ t: "ack", id: msg.id, memoryBytes: sandbox?.memoryBytes ?? 0, denied: slot.denied, ...(lazy && { dormant: true }) } satisfies FromWorker);
      } catch (err) {
        slot.drop();
        slot.kv.dispose();
        keepGrantedSecrets(msg.key);
        send({ t: "ack", id: msg.id, error: wire(err), denied: slot.denied } satisfies FromWorker);
      } finally {
        slot.denied = undefined;
        watchEnd();
      }
      return;
    }
    case "quota":
      setTenantQuota(msg.tenant, msg.quota);
      return;
    case "prepare":
      prepare(msg);
      return;
    case "migrate": {
      const slot = prepared.get(msg.key);
      if (!slot?.sandbox) return notPrepared(msg.id);
      watchStart(-msg.id, slot.limits.deadlineMs);
      slot.kv.begin();
      const outcome = withOwnKvLimits(slot, () => runOutcome(() => slot.sandbox!.migrate(msg.fromVersion, slot.fuel, slot.memoryCap())));
      watchEnd();
      if (outcome.ok) {
        const writes = slot.kv.commit();
        send({ t: "ack", id: msg.id, fuel: outcome.fuel, ...(writes ? { writes, kvBytes: slot.kv.totalBytes } : {}) } satisfies FromWorker);
      } else {
        slot.kv.begin();
        dropPrepared(msg.key);
        send({ t: "ack", id: msg.id, fuel: outcome.fuel, error: failureOf(outcome, "migrate") } satisfies FromWorker);
      }
      return;
    }
    case "activate": {
      const slot = prepared.get(msg.key);
      if (!slot?.sandbox) return notPrepared(msg.id);
      prepared.delete(msg.key);
      // The kv copy is shared, so only the old instance goes; the new version's kv limits rule from now on.
      slots.get(msg.key)?.drop();
      slot.kv.setLimits(slot.limits.kv);
      slots.set(msg.key, slot);
      slot.serving = true;
      clockMs = monotonicMs();
      slot.touch();
      send({ t: "ack", id: msg.id, memoryBytes: slot.sandbox.memoryBytes } satisfies FromWorker);
      return;
    }
    case "abort":
      dropPrepared(msg.key);
      send({ t: "ack", id: msg.id } satisfies FromWorker);
      return;
    case "health": {
      const slot = slots.get(msg.key);
      if (!slot) return send({ t: "ack", id: msg.id, error: { code: "NOT_FOUND", message: `service ${msg.key} is not running` } } satisfies FromWorker);
      watchStart(-msg.id, slot.limits.deadlineMs);
      let error: WireError | undefined;
      try {
        error = checkHealth(slot, slot.instance(), msg.health);
      } catch (err) {
        error = wire(err);
      }
      watchEnd();
      send({ t: "ack", id: msg.id, ...(error ? { error } : {}) } satisfies FromWorker);
      return;
    }
    case "uninstall": {
      dropPrepared(msg.key);
      const slot = slots.get(msg.key);
      slot?.drop();
      slot?.kv.dispose();
      slots.delete(msg.key);
      staleKv.delete(msg.key);
      keepGrantedSecrets(msg.key);
      send({ t: "ack", id: msg.id } satisfies FromWorker);
      return;
    }
    case "secret":
      secrets.update(msg);
      return;
    case "ping":
      send({ t: "ack", id: msg.id } satisfies FromWorker);
      return;
    case "kv-stale":
      staleKv.set(msg.key, Math.max(msg.gen, staleKv.get(msg.key) ?? 0));
      send({ t: "ack", id: msg.id } satisfies FromWorker);
      return;
    case "reload-kv": {
      const slot = slots.get(msg.key);
      slot?.kv.reset(msg.kv);
      if ((staleKv.get(msg.key) ?? 0) <= msg.gen) staleKv.delete(msg.key);
      send({ t: "ack", id: msg.id } satisfies FromWorker);
      return;
    }
  }
}

/** A guest run that may throw from the host's own binding: a throw is the host's fault. */
function runOutcome(run: () => CallOutcome | undefined): CallOutcome {
  try {
    return run() ?? { ok: true, output: "", fuel: 0, memoryBytes: 0 };
  } catch (err) {
    const e = toSoloError(err);
    return { ok: false, code: e.code, message: e.message, fuel: 0, memoryBytes: 0, trapped: true };
  }
}

/** A failed lifecycle step as the swap reports it: the guest's code, and which step. */
function failureOf(outcome: Extract<CallOutcome, { ok: false }>, phase: "health" | "migrate"): WireError {
  return { code: outcome.code, message: `the new version's ${phase} ${outcome.code === "GUEST_ERROR" ? "failed" : "stopped"}: ${outcome.message}`, details: { ...outcome.details, phase } };
}

function notPrepared(id: number): void {
  send({ t: "ack", id, error: { code: "UNAVAILABLE", message: "the new version is no longer prepared on its worker (the worker was replaced meanwhile); swap again" } } satisfies FromWorker);
}

function dropPrepared(key: string): void {
  prepared.get(key)?.drop();
  prepared.delete(key);
}

/**
 * The guest's health export, then (if asked) handle(request) must answer `expect`. Writes to kv are
 * dropped: a check looks, it does not change the service's state. Undefined when healthy.
 */
function checkHealth(slot: Slot, sandbox: GuestInstance, health: HealthRequest | undefined): WireError | undefined {
  return withOwnKvLimits(slot, () => checkHealthNow(slot, sandbox, health));
}

/** Runs `step` of a slot under its own kv limits (a prepared version shares the running one's kv view). */
function withOwnKvLimits<T>(slot: Slot, step: () => T): T {
  const before = slot.kv.currentLimits;
  slot.kv.setLimits(slot.limits.kv);
  try {
    return step();
  } finally {
    slot.kv.setLimits(before);
  }
}

function checkHealthNow(slot: Slot, sandbox: GuestInstance, health: HealthRequest | undefined): WireError | undefined {
  slot.kv.begin();
  const own = runOutcome(() => sandbox.health(slot.fuel, slot.memoryCap()));
  slot.kv.begin();
  if (!own.ok) {
    if (own.trapped) slot.drop();
    return failureOf(own, "health");
  }
  if (!health) return undefined;
  slot.logs = [];
  const out = runOutcome(() => sandbox.call(health.request, slot.fuel, slot.limits.maxResponseBytes, slot.memoryCap()));
  slot.kv.begin();
  if (!out.ok) {
    if (out.trapped) slot.drop();
    return failureOf(out, "health");
  }
  if (out.output !== health.expect) {
    const shown = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}...` : s);
    return { code: "GUEST_ERROR", message: `the new version failed its health check: handle(${shown(health.request)}) answered ${shown(out.output)}, not ${shown(health.expect)}`, details: { phase: "health", expected: health.expect.slice(0, 200), got: out.output.slice(0, 200) } };
  }
  return undefined;
}

/** Instantiates a new version beside the running one, with the running one's kv copy, and checks it. */
function prepare(msg: PrepareMessage): void {
  dropPrepared(msg.key);
  const current = slots.get(msg.key);
  const slot = new Slot(msg, current?.kv);
  watchStart(-msg.id, msg.limits.deadlineMs);
  try {
    const sandbox = slot.instance(true);
    const unhealthy = checkHealth(slot, sandbox, msg.health);
    if (unhealthy) {
      slot.drop();
      send({ t: "ack", id: msg.id, error: unhealthy, denied: slot.denied } satisfies FromWorker);
    } else {
      prepared.set(msg.key, slot);
      send({ t: "ack", id: msg.id, memoryBytes: sandbox.memoryBytes, denied: slot.denied } satisfies FromWorker);
    }
  } catch (err) {
    slot.drop();
    send({ t: "ack", id: msg.id, error: swapError(err), denied: slot.denied } satisfies FromWorker);
  } finally {
    slot.denied = undefined;
    watchEnd();
  }
}

/** A prepare's failure; past the tenant's memory quota, it says a swap holds both versions at once. */
function swapError(err: unknown): WireError {
  const e = wire(err);
  const d = e.details;
  if (e.code !== "RESOURCE_EXHAUSTED" || d?.quota !== "memoryBytes") return e;
  return { ...e, message: `a swap keeps both versions in memory until the switch: with the new one (${String(d.memoryBytes)} bytes) tenant ${String(d.tenant)}'s instances would use ${String(d.used)} bytes, over its memoryBytes quota of ${String(d.limit)}; ask an operator to raise the quota, make the service smaller, or use replace (kill, then deploy)` };
}
