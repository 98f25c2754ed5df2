// Messages between the host thread and its worker threads. Calls travel in batches: one
// postMessage carries every call queued in one tick, and one reply carries their results.
import type { ErrorCode } from "../errors.ts";
import type { ComponentPlan, LifecycleExport, LogLevel } from "../wasm/index.ts";
import type { KvLimits, KvWrite } from "./kv-view.ts";

export interface InstanceLimits {
  fuel: number;
  /** Wall-clock time one call may run on the worker before the thread is terminated. */
  deadlineMs: number;
  memoryBytes: number;
  maxResponseBytes: number;
  kv: KvLimits;
}

/** What to run: one module or a component's modules that Solo binds itself, or jco glue over several modules. */
export type RunSpec = (
  | { kind: "core"; module: WebAssembly.Module; encoding: "utf8" | "utf16"; lifecycle?: LifecycleExport[] }
  /** sourceMap: the bundle's map (wasm/source-map.ts), for a thrown error's stack. */
  | { kind: "component"; plan: ComponentPlan; modules: WebAssembly.Module[]; sourceMap?: string }
  /** sourceMap: the bundle's map (wasm/source-map.ts), for a thrown error's stack. */
  | { kind: "glue"; glueUrl: string; modules: Record<string, WebAssembly.Module>; sourceMap?: string }
  | { kind: "javy"; module: WebAssembly.Module }
) & {
  /** The artifact's hash: a worker keeps one copy of a spec for every service that runs it (worker.ts, `shared`). */
  hash?: string;
};

export interface InstallMessage {
  t: "install";
  id: number;
  key: string;
  run: RunSpec;
  /** The guest's file as its deploy named it: failures name their place in it. */
  file?: string;
  limits: InstanceLimits;
  kv: [string, string][];
  /** What the guest's imports may do (host/capability/guest.ts); the rest answer access-denied. */
  capabilities: readonly string[];
  /** The current values of the secrets the service is granted (and no others). */
  secrets?: SecretSnapshot;
  /**
   * Make no instance now: the service's first call does (a cached deploy whose start code is
   * proven, or a re-install of a service that had no live instance). `memoryBytes`: what its start
   * left in memory when proven; if the tenant's quota leaves less, the worker instantiates now, so
   * the deploy answers the quota's error as before. 0: no check.
   */
  lazy?: { memoryBytes: number };
  /**
   * The deadline of the instantiation and start code, when it is not limits.deadlineMs: a
   * re-creation the host makes on its own account (a replaced thread, a tenant's move, a host
   * restart) gets at least RECREATE_DEADLINE_MS, see pool.ts.
   */
  startDeadlineMs?: number;
}

/** A worker's instance counters: live now, and created and evicted since its thread started. */
export interface InstanceCounts { live: number; created: number; evicted: number }

/** Instances the worker dropped for idleness (HostOptions.idleMs); sent after the results before it. */
export interface EvictedMessage { t: "evicted"; keys: string[]; instances: InstanceCounts }

/**
 * Secret values as of the vault's change number `seq`: null for a name not stored; names in
 * `unreadable` do not decrypt on the host. A worker keeps, per name, the newest it was sent.
 */
export interface SecretSnapshot { seq: number; values: [name: string, value: string | null][]; unreadable?: string[] }

/** A secret stored (value) or removed (null), sent to the worker of services granted it. No answer. */
export interface SecretMessage { t: "secret"; tenant: string; name: string; value: string | null; seq: number }

/** What a tenant's quota bounds inside its worker (all its services run there, one call at a time). */
export interface WorkerQuota {
  /** Linear memory of all the tenant's instances. */
  memoryBytes: number;
  /** kv bytes of all the tenant's services. */
  kvBytes: number;
  /** Fuel one call may get, whatever the service's own limit says. */
  fuelPerCall: number;
  /** UTF-8 bytes of one kv key / one kv value, whatever the service's own limits say. */
  kvKeyBytes: number;
  kvValueBytes: number;
  /** Keys one kv.keys() call may answer; past it the guest gets limit-exceeded. */
  kvKeysPerCall: number;
}

/** Sets (or changes) a tenant's quota; sent before its first install and when an operator changes it. No answer. */
export interface QuotaMessage { t: "quota"; tenant: string; quota: WorkerQuota }

/** A health check a swap asks of the new version: handle(request) must answer `expect`. */
export interface HealthRequest { request: string; expect: string }

/**
 * Hot swap, step 1: instantiates a new version beside the running one (sharing its kv copy) and
 * checks its health (the guest's health export, then `health` if given); it waits, unused, for
 * migrate and activate, or abort. Answers like an install.
 */
export interface PrepareMessage extends Omit<InstallMessage, "t" | "kv"> {
  t: "prepare";
  health?: HealthRequest;
  /** The committed kv, for a service with no running instance (it had failed); else the running one's copy is shared. */
  kv?: [string, string][];
}
/** Step 2 (if the guest exports migrate): runs migrate(fromVersion) on the prepared instance; answers its kv writes. */
export interface MigrateMessage { t: "migrate"; id: number; key: string; fromVersion: number }
/** Step 3: the prepared instance becomes the service's; the old one is dropped. */
export interface ActivateMessage { t: "activate"; id: number; key: string }
/** The swap failed: the prepared instance is dropped. */
export interface AbortMessage { t: "abort"; id: number; key: string }
/** Answers at once: the thread is loaded and taking messages (placement waits for it before a move). */
export interface PingMessage { t: "ping"; id: number }
/** Checks the running instance's health (in a rollback window). */
export interface HealthMessage { t: "health"; id: number; key: string; health?: HealthRequest }

export interface UninstallMessage { t: "uninstall"; id: number; key: string }
/** gen: the reload's number (KvStaleMessage); the mark is lifted only by the latest. */
export interface ReloadKvMessage { t: "reload-kv"; id: number; key: string; kv: [string, string][]; gen: number }
/** The service's kv copy is about to be reloaded: calls from other services to it are refused until reload `gen` lands. */
export interface KvStaleMessage { t: "kv-stale"; id: number; key: string; gen: number }

/** A batch of calls as parallel arrays: cloning three arrays costs less than N small objects. */
export interface CallsMessage { t: "calls"; ids: number[]; keys: string[]; requests: string[] }

/** Wakes a worker parked on its call ring (call-ring.ts): calls were written there. Not sequenced. */
export interface BellMessage { t: "bell" }

/**
 * With the ring channel (call-ring.ts), each message carries its sender's sequence number, shared
 * with the batches in the ring, so the reader takes both in the order they were sent. Named `chan`,
 * not `seq`: a secret message's `seq` is the vault's change number, which the worker compares.
 */
export interface Sequenced { chan?: number }

export type ToWorker = BellMessage | InstallMessage | UninstallMessage | ReloadKvMessage | KvStaleMessage | CallsMessage | QuotaMessage | SecretMessage | PrepareMessage | MigrateMessage | ActivateMessage | AbortMessage | HealthMessage | PingMessage;

export interface WireError { code: ErrorCode; message: string; details?: Record<string, unknown> }

export interface CallResult {
  id: number;
  output?: string;
  error?: WireError;
  fuel: number;
  memoryBytes: number;
  /** kv writes of a successful call, to commit before the reply. */
  writes?: KvWrite[];
  /** With writes: the service's kv bytes after them (the host's usage() sums these). */
  kvBytes?: number;
  logs?: [LogLevel, string][];
  /** Imports the call was denied, each once ("kv.get", "secrets.get(db)"); absent when none. */
  denied?: string[];
  /** The instance was made for this call (the one before had trapped or was evicted, or a cached deploy made none). */
  restarted?: boolean;
  /** The failure is the instance's start code failing (not the call): it never ran handle. */
  startFailed?: boolean;
  /** Secrets the call read, each name once; absent when none. */
  secrets?: string[];
  /** events.emit of a successful call, [kind, data] in order (recorded as guest_event). */
  emits?: [string, string][];
  /** Emits refused by the service's rate budget in this call (one summary event, not one each). */
  emitsRefused?: number;
  /** Services this call called (services.call), one entry per callee (runtime/service-calls.ts). */
  nested?: NestedResult[];
  /**
   * Milliseconds the call spent at the pool and its worker without running: queued before it
   * started, and after it ended while the rest of its batch ran (its result goes back with
   * theirs). Admission measures capacity by it; absent when it never ran.
   */
  waitMs?: number;
  /** With waitMs: when the worker sent the result (monotonicMs), a clock reading the API thread need not take. */
  answeredAt?: number;
  /** With waitMs: how long (ms, wall clock) the call ran on its worker. */
  runMs?: number;
}

/**
 * What the calls one outer call made to one other service of its tenant left behind: their kv
 * writes and emits (each committed with that callee call's own success, whatever the outer call
 * does next), merged in call order, and counts for the callee's status.
 */
export interface NestedResult {
  key: string;
  calls: number;
  /** Failed callee calls by code. */
  errors?: Partial<Record<ErrorCode, number>>;
  /** The first trap, for the callee's service_crashed event. */
  trap?: WireError;
  /** The successful callee calls' writes, last write per key (one commit). */
  writes?: KvWrite[];
  kvBytes?: number;
  emits?: [string, string][];
  emitsRefused?: number;
  logs?: [LogLevel, string][];
  denied?: string[];
  /** A call to it was refused because its kv copy is being reloaded: the host sees that a reload is under way. */
  reloadWanted?: true;
}

export interface AckMessage {
  t: "ack";
  id: number;
  error?: WireError;
  memoryBytes?: number;
  denied?: string[];
  /** migrate's kv writes, and the service's kv bytes after them. */
  writes?: KvWrite[];
  kvBytes?: number;
  /** A migrate or health check's fuel. */
  fuel?: number;
  /** An install made no instance (lazy): the service's first call will. */
  dormant?: boolean;
  /** Services whose instance this request's instantiation evicted (the live cap). */
  evicted?: string[];
  /** The worker's counters, when they changed since its last message. */
  instances?: InstanceCounts;
}
/**
 * A batch of results as parallel arrays; what only some calls have (an error, kv writes, logs, denials)
 * travels in `extra`, keyed by position.
 */
export interface ResultsMessage {
  t: "results";
  ids: number[];
  outputs: (string | null)[];
  /** Wall milliseconds each call kept the worker busy (its tenant's load, for placement). */
  times: number[];
  fuels: number[];
  memoryBytes: number[];
  /** When the results were sent (monotonicMs): the pool turns it and `times` into CallResult.waitMs. */
  sent: number;
  /**
   * Services whose instance was evicted while these calls ran (to make room for another), each
   * before the result at the same position of `evictedAt`.
   */
  evicted?: string[];
  evictedAt?: number[];
  /** The worker's counters, when they changed since its last message. */
  instances?: InstanceCounts;
  extra?: Record<number, Pick<CallResult, "error" | "writes" | "kvBytes" | "logs" | "denied" | "restarted" | "startFailed" | "secrets" | "emits" | "emitsRefused" | "nested">>;
}
export type FromWorker = (AckMessage | ResultsMessage | EvictedMessage) & Sequenced;

/**
 * Layout of the Float64Array each worker shares with the host, for the deadline watchdog. Doubles,
 * not Int32s: milliseconds of a monotonic clock and call ids both outgrow 2^31 on a long-lived host.
 */
export const WATCH = {
  /** Monotonic milliseconds (monotonicMs) when the running work must end; 0 when idle. */
  deadline: 0,
  /** What runs: a call's id, or minus the id of an install request. */
  running: 1,
  /** Monotonic milliseconds when the running work started: placement sees a long call while it runs. */
  started: 2,
  /**
   * 1 while the running call is making its service's instance (start code after an eviction, a
   * trap or a cached deploy): a watchdog stop then answers it as a failed start, which crash
   * supervision counts, not as a slow call.
   */
  starting: 3,
  size: 4,
} as const;

/** Milliseconds of the process-wide monotonic clock: the same in every thread, never set back. */
export function monotonicMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}
