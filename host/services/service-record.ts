// What the supervisor knows of one service: the public shapes (deploy, call, status) and the
// record the registry holds while it runs.
import type { ErrorCode } from "../errors.ts";
import type { Language } from "../compile/index.ts";
import type { Artifact } from "../build/index.ts";
import type { Finding, TypeCheckMode } from "../validate/index.ts";
import type { ServiceLimits } from "./limits.ts";
import type { CircuitBreaker, CircuitStatus } from "../governance/index.ts";
import { monotonicMs } from "../runtime/protocol.ts";
import { keptArtifacts, type VersionRecord } from "./versions.ts";

export interface DeployRequest {
  tenant: string;
  service: string;
  /** Source text, or component bytes for language "component". */
  source: string | Uint8Array;
  language: Language;
  /** File name used in diagnostics; defaults to "<service>" + the language's extension. */
  file?: string;
  limits?: Partial<ServiceLimits>;
  /** For javascript: "quickjs" (default, componentize-qjs) or "javy" (needs a javy binary). */
  compiler?: "quickjs" | "javy";
  /** TypeScript: "error" refuses a source with type errors (VALIDATION_FAILED); default "warning" (kept in warnings). */
  typeCheck?: TypeCheckMode;
  /** Who asks: recorded as the events' actor (a token's id; "local" for the in-process operator). */
  actor?: string;
  /** What the guest's imports may do (host/capability/guest.ts); default log, clock, random, kv. */
  capabilities?: string[];
  /** For discovery: what the service does (at most 500 characters). */
  description?: string;
  /** For discovery: up to 16 names (like capability names) that discover({ tag }) matches. */
  tags?: string[];
}

export interface CallReply {
  output: string;
  /** Fuel units this call used (instantiation excluded). */
  fuel: number;
  /** The instance's linear memory after the call. */
  memoryBytes: number;
}

/** What a deploy answers: the status fields known at that moment. */
export type DeployResult = Pick<ServiceStatus, "tenant" | "service" | "version" | "artifact" | "language" | "interfaces" | "limits" | "memoryBytes" | "warnings" | "capabilities" | "description" | "tags">;

/** One service as discover() shows it: what a caller needs to decide to call it. */
export interface ServiceInfo {
  tenant: string;
  service: string;
  version: number;
  language: Language;
  capabilities: string[];
  description: string;
  tags: string[];
  state: ServiceStatus["state"];
}

export interface ServiceStatus {
  tenant: string;
  service: string;
  /**
   * "failed": it could not be re-created (after its worker was replaced, or at recovery after a
   * restart); calls answer UNAVAILABLE.
   */
  state: "running" | "failed";
  /** Why a failed service stopped. */
  failure?: { code: ErrorCode; message: string };
  version: number;
  artifact: string;
  language: Language;
  interfaces: string[];
  limits: ServiceLimits;
  memoryBytes: number;
  fuelUsed: number;
  calls: number;
  errors: Partial<Record<ErrorCode, number>>;
  deployedAt: string;
  /** Validation warnings found at deploy. */
  warnings: Finding[];
  /** What its guest's imports may do, sorted. */
  capabilities: string[];
  /** Given at deploy, for discovery ("" and [] when none). */
  description: string;
  tags: string[];
  /** The version before this one, if it was swapped or rolled back. */
  previousVersion?: number;
  /** Open after a swap: until when Solo rolls back by itself, and what it has seen. */
  rollbackWindow?: { until: number; previousVersion: number; calls: number; failures: number };
  /** Present while the service crashes in a row (traps, or fails to start). */
  crashes?: CrashState;
  /** Its circuit breaker (governance/circuit-breaker.ts): closed, open (calls refused at once) or half-open (trial calls). */
  circuit: CircuitStatus;
}

/** What is stored of a service so that a restart can bring it back. */
export interface StoredService {
  tenant: string;
  service: string;
  language: Language;
  limits: ServiceLimits;
  version: number;
  deployedAt: string;
  warnings: Finding[];
  /** The artifact's hash (its bytes are stored once under artifactKey). */
  artifact: string;
  kind: string;
  /** Sorted; records stored before capabilities existed lack it and get the default set. */
  capabilities: string[];
  /** sha256 of the source it was built from (hex); absent in records from before versions. */
  sourceHash?: string;
  /** The guest's file as its deploy named it (failures name their place in it); absent in records from before. */
  file?: string;
  /** The version it replaced (a swap or a rollback); absent for a first deploy. */
  previousVersion?: number;
  /** For discovery; records stored before lack them ("" and []). */
  description?: string;
  tags?: string[];
}

/** What a swap asks for: the new version's source; what it leaves out stays as it is. */
export interface SwapRequest {
  tenant: string;
  service: string;
  source: string | Uint8Array;
  /** Default: the running version's language. */
  language?: Language;
  file?: string;
  /** Default: the running version's limits. */
  limits?: Partial<ServiceLimits>;
  /** Default: the running version's capabilities. */
  capabilities?: string[];
  compiler?: "quickjs" | "javy";
  /** As for deploy: "error" refuses a source with type errors. */
  typeCheck?: TypeCheckMode;
  /** How long after the switch Solo watches the new version and rolls back by itself (ms, default 30000; 0: no window). */
  rollbackWindowMs?: number;
  /** Within the window, the share of calls that may trap or run out of fuel, memory or time before Solo rolls back (default 0.1). */
  maxFailureRate?: number;
  /** A request the new version must answer with `expect` before it is switched to (and, in the window, every healthIntervalMs). */
  health?: { request: string; expect: string };
  actor?: string;
}

/** What a swap or a rollback answers. */
export interface SwapResult {
  tenant: string;
  service: string;
  /** The version now current. */
  version: number;
  /** The version it replaced. */
  previousVersion: number;
  artifact: string;
  language: Language;
  /** Milliseconds new calls waited while the service switched (compile and instantiation excluded). */
  switchMs: number;
  /** Epoch ms until which Solo rolls back by itself; absent when no window is open. */
  rollbackUntil?: number;
  warnings: Finding[];
  capabilities: string[];
}

/** The watch over a new version right after a swap (supervisor: rollback-window.ts). */
export interface RollbackWindow {
  /** Epoch ms it closes. */
  until: number;
  /** The version to go back to. */
  previous: StoredService;
  previousBuilt: Artifact;
  maxFailureRate: number;
  health?: { request: string; expect: string };
  calls: number;
  failures: number;
  /** The failing calls' codes, counted. */
  codes: Partial<Record<ErrorCode, number>>;
  timer: NodeJS.Timeout;
}

/** A service whose instance keeps trapping or failing to start (supervision.ts). */
export interface CrashState {
  /** Crashes in a row, with no successful call between. */
  consecutive: number;
  /** Epoch ms before which calls are refused (backing off); 0 when not. */
  until: number;
  /** The latest crashes, newest last (at most 5). */
  last: { code: ErrorCode; message: string; at: string }[];
}

export interface ServiceRecord extends StoredService {
  key: string;
  worker: number;
  /** Absent for a service that failed at recovery: nothing of it runs. */
  built?: Artifact;
  interfaces: string[];
  memoryBytes: number;
  fuelUsed: number;
  calls: number;
  errors: Partial<Record<ErrorCode, number>>;
  /** Calls posted and not yet answered (their kv commits included): kill waits for them. */
  inflight: number;
  /** Called when inflight drops to 0 (set by a kill waiting for the service to be idle). */
  onIdle?: () => void;
  /**
   * The worker's kv copy may hold writes that were never committed (a commit failed and the copy
   * is not restored yet): no call's writes are committed until it is, and calls reload it first.
   */
  kvUnknown: boolean;
  /** The latest restore of the worker's copy while it is under way (undefined once it settled), and the generation of the latest one. */
  restoring?: Promise<void>;
  restoreGen: number;
  /** Set when the service could not be re-created (replaced worker, or recovery), or crash-looped. */
  failure?: { code: ErrorCode; message: string };
  /** Every version it has had, oldest first (versions.ts). */
  history: VersionRecord[];
  /** The artifacts it keeps stored (versions.ts keptArtifacts): pinned in Persistence. */
  kept: Set<string>;
  window?: RollbackWindow;
  /** While a swap or a rollback switches versions: new calls wait for it, then run on the new one. */
  gate?: Promise<void>;
  /** A swap or rollback under way (one at a time per service). */
  switching: boolean;
  /** Calls waiting at the gate (they count against the tenant's queuedCalls). */
  gated: number;
  crash: CrashState;
  /** When the results message of the last crash counted was sent (CallResult.answeredAt): one crash per message. */
  crashAnsweredAt?: number;
  /** Set by the supervisor when the record is made; a swap closes it. */
  circuit?: CircuitBreaker;
}

export function statusOf(rec: ServiceRecord): ServiceStatus {
  return {
    tenant: rec.tenant, service: rec.service, state: rec.failure ? "failed" : "running", ...(rec.failure ? { failure: { ...rec.failure } } : {}), version: rec.version, artifact: rec.artifact,
    language: rec.language, interfaces: rec.interfaces, limits: { ...rec.limits }, memoryBytes: rec.memoryBytes,
    fuelUsed: rec.fuelUsed, calls: rec.calls, errors: { ...rec.errors }, deployedAt: rec.deployedAt, warnings: rec.warnings,
    capabilities: [...rec.capabilities], description: rec.description ?? "", tags: [...(rec.tags ?? [])],
    ...(rec.previousVersion !== undefined ? { previousVersion: rec.previousVersion } : {}),
    ...(rec.window ? { rollbackWindow: { until: rec.window.until, previousVersion: rec.window.previous.version, calls: rec.window.calls, failures: rec.window.failures } } : {}),
    ...(rec.crash.consecutive > 0 ? { crashes: { ...rec.crash, last: rec.crash.last.map((c) => ({ ...c })) } } : {}),
    circuit: rec.circuit ? rec.circuit.status(monotonicMs()) : { state: "closed", calls: 0, failures: 0, opens: 0 },
  };
}

export function infoOf(rec: ServiceRecord): ServiceInfo {
  return {
    tenant: rec.tenant, service: rec.service, version: rec.version, language: rec.language, capabilities: [...rec.capabilities],
    description: rec.description ?? "", tags: [...(rec.tags ?? [])], state: rec.failure ? "failed" : "running",
  };
}

export function newRecord(meta: StoredService, worker: number, built: Artifact | undefined, memoryBytes: number, history?: VersionRecord[]): ServiceRecord {
  const h = history && history.length > 0 ? history : [versionOf(meta, "deploy")];
  // Every field named, in one order: records share one hidden class. Spreading `meta` gave each
  // record a map of its own (~750 bytes more per service, measured with heap snapshots).
  return {
    tenant: meta.tenant, service: meta.service, language: meta.language, limits: meta.limits, version: meta.version, deployedAt: meta.deployedAt,
    warnings: meta.warnings, artifact: meta.artifact, kind: meta.kind, capabilities: meta.capabilities, sourceHash: meta.sourceHash, file: meta.file,
    previousVersion: meta.previousVersion, description: meta.description, tags: meta.tags,
    key: `${meta.tenant}/${meta.service}`, worker, built, interfaces: built?.interfaces ?? [],
    memoryBytes, fuelUsed: 0, calls: 0, errors: {}, inflight: 0, onIdle: undefined, kvUnknown: false, restoring: undefined, restoreGen: 0, failure: undefined,
    history: h, kept: keptArtifacts(h, meta.version), window: undefined, gate: undefined, switching: false, gated: 0, crash: { consecutive: 0, until: 0, last: [] },
    crashAnsweredAt: undefined, circuit: undefined,
  } satisfies Record<keyof ServiceRecord, unknown>; // every field named: one added to the record and not here fails to compile
}

/** The version record of what a stored service runs. */
export function versionOf(meta: StoredService, via: VersionRecord["via"], actor?: string): VersionRecord {
  return {
    version: meta.version, artifact: meta.artifact, sourceHash: meta.sourceHash ?? "", language: meta.language, kind: meta.kind,
    capabilities: [...meta.capabilities], limits: { ...meta.limits }, at: meta.deployedAt, ...(actor ? { actor } : {}), via, ...(meta.file ? { file: meta.file } : {}),
  };
}
