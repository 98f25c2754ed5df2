// Deploys, calls, lists and kills services, tenant by tenant. Owns the registry of running
// services; instances live in the worker pool, committed kv in the KvStore.
//
// Isolation: every lookup is by (tenant, service); a tenant asking for another tenant's service
// gets NOT_FOUND, the same answer as for a service that does not exist.
import { SoloError, toSoloError, type ErrorCode } from "../errors.ts";
import { checkLanguage, type Language } from "../compile/index.ts";
import { isComponent, type LogLevel } from "../wasm/index.ts";
import type { Artifact, ArtifactStore } from "../build/index.ts";
import type { CallResult, InstanceLimits, WorkerPool } from "../runtime/index.ts";
import { SERVICES, artifactKey, serviceKey, type KvStore, type Storage } from "../storage/index.ts";
import type { EventInput, EventStore } from "../events/index.ts";
import { checkName } from "./names.ts";
import type { Finding } from "../validate/index.ts";
import { resolveLimits, type ServiceLimits } from "./limits.ts";
import { EventBudget } from "./event-budget.ts";
import { clipEventData } from "./event-clip.ts";

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
}

export interface CallReply {
  output: string;
  /** Fuel units this call used (instantiation excluded). */
  fuel: number;
  /** The instance's linear memory after the call. */
  memoryBytes: number;
}

/** What a deploy answers: the status fields known at that moment. */
export type DeployResult = Pick<ServiceStatus, "tenant" | "service" | "version" | "artifact" | "language" | "interfaces" | "limits" | "memoryBytes" | "warnings">;

export interface ServiceStatus {
  tenant: string;
  service: string;
  /** "failed": it could not be re-created after its worker was replaced; calls answer UNAVAILABLE. */
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
}

/** What is stored of a service so that a restart can bring it back. */
interface StoredService {
  tenant: string;
  service: string;
  language: Language;
  limits: ServiceLimits;
  version: number;
  deployedAt: string;
  warnings: Finding[];
}

interface ServiceRecord extends StoredService {
  key: string;
  worker: number;
  artifact: Artifact;
  memoryBytes: number;
  fuelUsed: number;
  calls: number;
  errors: Partial<Record<ErrorCode, number>>;
  /** kv commits under way, so that kill drops the store only after them. */
  commits: Set<Promise<void>>;
  /** Set when the service could not be re-created on a replaced worker. */
  failure?: { code: ErrorCode; message: string };
}

export interface SupervisorOptions {
  pool: WorkerPool;
  artifacts: ArtifactStore;
  kv: KvStore;
  events: EventStore;
  storage: Storage;
  defaults: ServiceLimits;
  onLog?: (entry: { tenant: string; service: string; level: LogLevel; message: string }) => void;
}

/** The limit each resource error is about. */
const LIMIT_OF: Partial<Record<ErrorCode, keyof ServiceLimits>> = { FUEL_EXHAUSTED: "fuel", MEMORY_LIMIT: "memoryBytes", DEADLINE_EXCEEDED: "deadlineMs" };

const EXTENSIONS: Record<Language, string> = { assemblyscript: ".as.ts", typescript: ".ts", javascript: ".js", component: ".wasm", javy: ".wasm" };

export class Supervisor {
  private readonly tenants = new Map<string, Map<string, ServiceRecord>>();
  /** Names being deployed right now: a second deploy of the same name is ALREADY_EXISTS. */
  private readonly deploying = new Set<string>();
  private readonly tenantWorker = new Map<string, number>();
  /** Artifacts already stored in the database (each is written once). */
  private readonly storedArtifacts = new Set<string>();
  /** Events each service's calls may write (crashes, violations, restarts). */
  private readonly eventBudget = new EventBudget();

  constructor(private readonly o: SupervisorOptions) {}

  async deploy(req: DeployRequest): Promise<DeployResult> {
    const tenant = checkName("tenant", req.tenant);
    const service = checkName("service", req.service);
    const language = checkLanguage(req.language);
    const limits = resolveLimits(req.limits, this.o.defaults);
    const key = `${tenant}/${service}`;
    if (this.find(tenant, service) || this.deploying.has(key)) {
      throw new SoloError("ALREADY_EXISTS", `service ${service} already exists in tenant ${tenant}; kill it first or hot-swap it`, { tenant, service });
    }
    this.deploying.add(key);
    try {
      return await this.install(tenant, service, key, language, req, limits);
    } catch (err) {
      const e = toSoloError(err);
      await this.record({ type: "service_deployment_failed", tenant, service, data: { language, code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } });
      throw e;
    } finally {
      this.deploying.delete(key);
    }
  }

  private async install(tenant: string, service: string, key: string, language: Language, req: DeployRequest, limits: ServiceLimits): Promise<DeployResult> {
    const { artifact, warnings } = await this.build(language, req.source, req.file ?? `${service}${EXTENSIONS[language]}`, limits, req.compiler);
    const rec = await this.start({ tenant, service, language, limits, version: 1, deployedAt: new Date().toISOString(), warnings }, artifact);
    // The service's record and its event go to disk in one batch. If that fails, the deploy did
    // not happen: the instance is removed again, so a failed deploy leaves nothing running.
    const storeArtifact = !this.storedArtifacts.has(artifact.hash);
    try {
      await Promise.all([
        this.o.storage.write({ records: this.persisted(rec, storeArtifact) }),
        this.record({ type: "service_deployed", tenant, service, data: { version: 1, artifact: artifact.hash, language, interfaces: artifact.interfaces, limits, warnings: warnings.length } }),
      ]);
    } catch (err) {
      this.tenants.get(tenant)?.delete(service);
      await this.o.pool.uninstall(rec.worker, key).catch(() => {});
      throw err;
    }
    // Only once it is durable: a failed write must not keep the next deploy from storing it.
    if (storeArtifact) this.storedArtifacts.add(artifact.hash);
    return { tenant, service, version: 1, artifact: artifact.hash, language, interfaces: artifact.interfaces, limits, memoryBytes: rec.memoryBytes, warnings };
  }

  /** Creates the instance on the tenant's worker and registers the service. */
  private async start(meta: StoredService, artifact: Artifact): Promise<ServiceRecord> {
    const key = `${meta.tenant}/${meta.service}`;
    const worker = this.workerFor(meta.tenant);
    const memoryBytes = await this.o.pool.install(worker, { key, run: artifact.run, limits: instanceLimits(meta.limits), loadKv: () => this.o.kv.load(key) });
    const rec: ServiceRecord = { ...meta, key, worker, artifact, memoryBytes, fuelUsed: 0, calls: 0, errors: {}, commits: new Set() };
    let services = this.tenants.get(meta.tenant);
    if (!services) this.tenants.set(meta.tenant, (services = new Map()));
    services.set(meta.service, rec);
    return rec;
  }

  /** What a restart needs to bring the service back: its record, and its artifact if not stored yet. */
  private persisted(rec: ServiceRecord, withArtifact: boolean): [string, string | null][] {
    const meta: StoredService & { artifact: string; kind: string } = {
      tenant: rec.tenant, service: rec.service, language: rec.language, limits: rec.limits, version: rec.version,
      deployedAt: rec.deployedAt, warnings: rec.warnings, artifact: rec.artifact.hash, kind: rec.artifact.run.kind,
    };
    const out: [string, string | null][] = [[serviceKey(rec.tenant, rec.service), JSON.stringify(meta)]];
    if (withArtifact) out.push([artifactKey(rec.artifact.hash), Buffer.from(rec.artifact.component).toString("base64")]);
    return out;
  }

  /**
   * Brings back every service stored before a restart, from its stored artifact (no compile),
   * with its committed kv. Each emits service_recovered, or service_deployment_failed with the reason.
   */
  async recover(): Promise<number> {
    let recovered = 0;
    for (const [, value] of await this.o.storage.recordsWithPrefix(SERVICES)) {
      const meta = JSON.parse(value) as StoredService & { artifact: string; kind: string };
      try {
        const [entry] = await this.o.storage.recordsWithPrefix(artifactKey(meta.artifact));
        if (!entry) throw new SoloError("INTERNAL", `the stored artifact ${meta.artifact} is missing`);
        const bytes = new Uint8Array(Buffer.from(entry[1], "base64"));
        this.storedArtifacts.add(meta.artifact);
        // Solo built TypeScript and JavaScript services itself: their glue is trusted again.
        const artifact = meta.kind === "javy" ? await this.o.artifacts.fromJavy(bytes) : await this.o.artifacts.fromComponent(bytes, builtBySolo(meta.language));
        await this.start(meta, artifact);
        await this.record({ type: "service_recovered", tenant: meta.tenant, service: meta.service, data: { version: meta.version, artifact: meta.artifact } });
        recovered++;
      } catch (err) {
        const e = toSoloError(err);
        await this.record({ type: "service_deployment_failed", tenant: meta.tenant, service: meta.service, data: { phase: "recover", code: e.code, message: e.message } });
      }
    }
    return recovered;
  }

  /** Appends an event, its strings and lists clipped; a failure to record is reported, never hidden. */
  private async record(e: EventInput): Promise<void> {
    await this.o.events.append(e.data ? { ...e, data: clipEventData(e.data) } : e);
  }

  /** Records an event a call caused, within the service's event budget (event-budget.ts). */
  private async recordCaused(rec: ServiceRecord, e: EventInput): Promise<void> {
    const suppressed = this.eventBudget.take(rec.key);
    if (suppressed === undefined) return;
    await this.record(suppressed > 0 ? { ...e, data: { ...e.data, suppressed } } : e);
  }

  /** A worker was replaced: every service on it was re-created from its artifact. */
  /**
   * A replaced worker could not re-create this service (its start code failed, hung or killed the
   * worker again): it stays listed as failed with the reason, and its calls answer UNAVAILABLE.
   */
  onServiceLost(key: string, error: SoloError): void {
    const [tenant, service] = key.split("/") as [string, string];
    const rec = this.find(tenant, service);
    if (!rec || rec.failure) return;
    rec.failure = { code: error.code, message: error.message };
    void this.recordCaused(rec, { type: "service_failed", tenant, service, data: { code: error.code, message: error.message } }).catch(() => {});
  }

  onWorkerRestart(worker: number, reason: string): void {
    for (const services of this.tenants.values()) {
      for (const rec of services.values()) {
        if (rec.worker === worker) void this.recordCaused(rec, { type: "service_restarted", tenant: rec.tenant, service: rec.service, data: { reason } }).catch(() => {});
      }
    }
  }

  /**
   * Source -> checked, metered, compiled artifact (each step cached by content hash). Validation,
   * compile, inspection and metering run in the builder process (host/build), never here.
   */
  private async build(language: Language, source: string | Uint8Array, file: string, limits: ServiceLimits, compiler?: string): Promise<{ artifact: Artifact; warnings: Finding[] }> {
    if (compiler !== undefined && compiler !== "quickjs" && compiler !== "javy") throw new SoloError("INVALID_ARGUMENT", `compiler must be "quickjs" or "javy"`, { field: "compiler" });
    if (compiler === "javy" && language !== "javascript") throw new SoloError("INVALID_ARGUMENT", `compiler "javy" builds JavaScript only`, { field: "compiler" });
    if (language === "javy") {
      if (!(source instanceof Uint8Array)) throw new SoloError("INVALID_ARGUMENT", "a javy module must be given as bytes", { field: "source" });
      return { artifact: await this.o.artifacts.fromJavy(source, file), warnings: [] };
    }
    if (language === "component") {
      if (!(source instanceof Uint8Array)) throw new SoloError("INVALID_ARGUMENT", "a component must be given as bytes", { field: "source" });
      if (!isComponent(source)) throw new SoloError("VALIDATION_FAILED", "source is not a WebAssembly component (a core module must be wrapped with `wasm-tools component new` against wit/solo.wit)");
      // Uploaded bytes: a multi-module component would run jco glue made from them; refused.
      return { artifact: await this.o.artifacts.fromComponent(source, false, file), warnings: [] };
    }
    if (typeof source !== "string") throw new SoloError("INVALID_ARGUMENT", `${language} source must be text`, { field: "source" });
    return this.o.artifacts.fromSource({ language, source, file, maxSourceBytes: limits.maxSourceBytes, ...(compiler && { compiler }) });
  }

  private workerFor(tenant: string): number {
    let w = this.tenantWorker.get(tenant);
    if (w === undefined) this.tenantWorker.set(tenant, (w = this.o.pool.leastLoaded()));
    return w;
  }

  /** The hot path: one map lookup (a registered name is valid by construction), then the worker. */
  call(tenantName: string, serviceName: string, request: string): Promise<CallReply> {
    const rec = this.tenants.get(tenantName)?.get(serviceName);
    if (!rec) {
      try {
        this.get(checkName("tenant", tenantName), checkName("service", serviceName));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const r = rec!;
    if (r.failure) {
      return Promise.reject(new SoloError("UNAVAILABLE", `service ${r.service} is not running: ${r.failure.message}; kill it and deploy it again`, { tenant: r.tenant, service: r.service, reason: r.failure.code }));
    }
    if (typeof request !== "string") return Promise.reject(new SoloError("INVALID_ARGUMENT", "request must be a string", { field: "request" }));
    const max = r.limits.maxRequestBytes;
    if (request.length > max || (request.length * 3 > max && Buffer.byteLength(request) > max)) {
      this.countError(r, "INVALID_ARGUMENT");
      return Promise.reject(new SoloError("INVALID_ARGUMENT", `request is over ${max} bytes; send less or raise limits.maxRequestBytes`, { field: "request", limitBytes: max }));
    }
    return this.o.pool.call(r.worker, r.key, request).then((result) => this.finish(r, result));
  }

  /** Accounts for a call's result; synchronous unless it must record an event or commit kv. */
  private finish(rec: ServiceRecord, r: CallResult): CallReply | Promise<CallReply> {
    rec.calls++;
    rec.fuelUsed += r.fuel;
    if (r.memoryBytes) rec.memoryBytes = r.memoryBytes;
    if (r.logs && this.o.onLog) for (const [level, message] of r.logs) this.o.onLog({ tenant: rec.tenant, service: rec.service, level, message });
    if (r.error || r.writes) return this.finishSlow(rec, r);
    return { output: r.output ?? "", fuel: r.fuel, memoryBytes: r.memoryBytes };
  }

  private async finishSlow(rec: ServiceRecord, r: CallResult): Promise<CallReply> {
    if (r.error) {
      const code = r.error.code;
      this.countError(rec, code);
      const limit = LIMIT_OF[code];
      if (limit) await this.recordCaused(rec, { type: "resource_violation", tenant: rec.tenant, service: rec.service, data: { code, limit, value: rec.limits[limit], message: r.error.message } });
      else if (code === "GUEST_TRAP") await this.recordCaused(rec, { type: "service_crashed", tenant: rec.tenant, service: rec.service, data: { code, message: r.error.message } });
      throw SoloError.from(r.error);
    }
    if (r.writes) {
      const commit = this.o.kv.commit(rec.key, r.writes);
      rec.commits.add(commit);
      try {
        await commit;
      } catch (err) {
        // The worker already applied the writes to its copy: put it back to the committed state.
        await this.o.pool.reloadKv(rec.worker, rec.key, await this.o.kv.load(rec.key)).catch(() => {});
        this.countError(rec, "INTERNAL");
        throw new SoloError("INTERNAL", `the call's kv writes could not be committed: ${(err as Error).message}`);
      } finally {
        rec.commits.delete(commit);
      }
    }
    return { output: r.output ?? "", fuel: r.fuel, memoryBytes: r.memoryBytes };
  }

  private countError(rec: ServiceRecord, code: ErrorCode) {
    rec.errors[code] = (rec.errors[code] ?? 0) + 1;
  }

  status(tenantName: string, serviceName: string): ServiceStatus {
    const rec = this.get(checkName("tenant", tenantName), checkName("service", serviceName));
    return {
      tenant: rec.tenant, service: rec.service, state: rec.failure ? "failed" : "running", ...(rec.failure ? { failure: { ...rec.failure } } : {}), version: rec.version, artifact: rec.artifact.hash,
      language: rec.language, interfaces: rec.artifact.interfaces, limits: { ...rec.limits }, memoryBytes: rec.memoryBytes,
      fuelUsed: rec.fuelUsed, calls: rec.calls, errors: { ...rec.errors }, deployedAt: rec.deployedAt, warnings: rec.warnings,
    };
  }

  list(tenantName: string): ServiceStatus[] {
    const tenant = checkName("tenant", tenantName);
    const services = this.tenants.get(tenant);
    if (!services) return [];
    return [...services.keys()].sort().map((s) => this.status(tenant, s));
  }

  /** Stops the service and removes it with its kv state. */
  async kill(tenantName: string, serviceName: string): Promise<void> {
    const tenant = checkName("tenant", tenantName);
    const service = checkName("service", serviceName);
    const rec = this.get(tenant, service);
    this.tenants.get(tenant)!.delete(service);
    await this.o.pool.uninstall(rec.worker, rec.key);
    // Calls that finished before the uninstall may still be committing: drop the store after them.
    await Promise.allSettled(rec.commits);
    await this.o.kv.drop(rec.key);
    await Promise.all([
      this.o.storage.write({ records: [[serviceKey(tenant, service), null]] }),
      this.record({ type: "service_killed", tenant, service, data: { version: rec.version, calls: rec.calls } }),
    ]);
  }

  private find(tenant: string, service: string): ServiceRecord | undefined {
    return this.tenants.get(tenant)?.get(service);
  }

  private get(tenant: string, service: string): ServiceRecord {
    const rec = this.find(tenant, service);
    if (!rec) throw new SoloError("NOT_FOUND", `service ${service} not found in tenant ${tenant}`, { tenant, service });
    return rec;
  }
}

/** Services Solo compiled from source: their stored components may run through jco glue. */
function builtBySolo(language: Language): boolean {
  return language === "typescript" || language === "javascript";
}

function instanceLimits(l: ServiceLimits): InstanceLimits {
  return {
    fuel: l.fuel,
    deadlineMs: l.deadlineMs,
    memoryBytes: l.memoryBytes,
    maxResponseBytes: l.maxResponseBytes,
    kv: { maxKeyBytes: l.kvMaxKeyBytes, maxValueBytes: l.kvMaxValueBytes, maxTotalBytes: l.kvMaxBytes },
  };
}
