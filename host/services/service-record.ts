// What the supervisor knows of one service: the public shapes (deploy, call, status) and the
// record the registry holds while it runs.
import type { ErrorCode } from "../errors.ts";
import type { Language } from "../compile/index.ts";
import type { Artifact } from "../build/index.ts";
import type { Finding } from "../validate/index.ts";
import type { ServiceLimits } from "./limits.ts";

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
  /** For discovery; records stored before lack them ("" and []). */
  description?: string;
  tags?: string[];
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
  /** The latest restore of the worker's copy under way, and its generation. */
  restoring?: Promise<void>;
  restoreGen: number;
  /** Set when the service could not be re-created (replaced worker, or recovery). */
  failure?: { code: ErrorCode; message: string };
}

export function statusOf(rec: ServiceRecord): ServiceStatus {
  return {
    tenant: rec.tenant, service: rec.service, state: rec.failure ? "failed" : "running", ...(rec.failure ? { failure: { ...rec.failure } } : {}), version: rec.version, artifact: rec.artifact,
    language: rec.language, interfaces: rec.interfaces, limits: { ...rec.limits }, memoryBytes: rec.memoryBytes,
    fuelUsed: rec.fuelUsed, calls: rec.calls, errors: { ...rec.errors }, deployedAt: rec.deployedAt, warnings: rec.warnings,
    capabilities: [...rec.capabilities], description: rec.description ?? "", tags: [...(rec.tags ?? [])],
  };
}

export function infoOf(rec: ServiceRecord): ServiceInfo {
  return {
    tenant: rec.tenant, service: rec.service, version: rec.version, language: rec.language, capabilities: [...rec.capabilities],
    description: rec.description ?? "", tags: [...(rec.tags ?? [])], state: rec.failure ? "failed" : "running",
  };
}

export function newRecord(meta: StoredService, worker: number, built: Artifact | undefined, memoryBytes: number): ServiceRecord {
  return {
    ...meta, key: `${meta.tenant}/${meta.service}`, worker, ...(built ? { built } : {}), interfaces: built?.interfaces ?? [],
    memoryBytes, fuelUsed: 0, calls: 0, errors: {}, inflight: 0, kvUnknown: false, restoreGen: 0,
  };
}
