// Deploys, calls, lists and kills services, tenant by tenant, keeping each promise under failure:
// - a deploy registers (makes callable) a service only once its record and its event are durable,
//   in one batch; a failed deploy leaves nothing running, stored, or callable;
// - a kill writes first (record delete, kv delete and event in one batch), then stops the
//   instance, so a restart never brings a killed service back;
// - a call's kv writes are committed on top of a known copy only (accounting + restoreKv);
// - drain() finishes what is in flight; every pending promise settles.
// Instances live in the worker pool, committed kv in the KvStore.
import { SoloError, toSoloError } from "../errors.ts";
import { NOOP_TELEMETRY, type Telemetry } from "../telemetry/index.ts";
import { checkLanguage } from "../compile/index.ts";
import type { LogLevel } from "../wasm/index.ts";
import type { ArtifactStore } from "../build/index.ts";
import type { CallResult, InstanceCounts, WorkerPool } from "../runtime/index.ts";
import { QUOTAS, type KvStore, type Storage } from "../storage/index.ts";
import type { EventStore } from "../events/index.ts";
import { checkName } from "./names.ts";
import { resolveGuestCapabilities } from "../capability/guest.ts";
import { Denials } from "./denials.ts";
import { resolveLimits, type ServiceLimits } from "./limits.ts";
import { Accounting } from "./accounting.ts";
import { buildArtifact, defaultFile } from "./build.ts";
import { instanceLimits } from "./instance-limits.ts";
import { Persistence } from "./persistence.ts";
import { recoverServices } from "./recovery.ts";
import { Registry } from "./registry.ts";
import { Admission, breakerSettings, checkQuotas, CircuitBreaker, Governor, quotaError, type AdmissionLane, type AdmissionSettings, type BreakerSettings, type CircuitChange, type LaneStatus, type ShedReport, type TenantQuotas, type TenantUsage } from "../governance/index.ts";
import type { ErrorCode } from "../errors.ts";
import { monotonicMs } from "../runtime/protocol.ts";
import { newRecord, statusOf, versionOf, type CallReply, type DeployRequest, type DeployResult, type ServiceInfo, type ServiceRecord, type ServiceStatus, type SwapRequest, type SwapResult } from "./service-record.ts";
import { Swaps } from "./swap.ts";
import { sourceHash, type VersionInfo } from "./versions.ts";
import { backingOff, countCrash, crashLoopFailure, isCrash, noCrashes, supervisionSettings, type SupervisionSettings } from "./supervision.ts";
import { checkTag, resolveServiceMeta, type ServiceMeta } from "./service-meta.ts";
import { GuestEvents } from "./guest-events.ts";
import { settleNested, type NestedParts } from "./nested-calls.ts";
import { Placement, type FairnessSettings, type PlacementStats } from "./placement.ts";
import type { TenantLoad } from "../runtime/index.ts";
import { StartProofs } from "./start-proofs.ts";

/** Reloads of a service's kv copy a call waits through before it is refused (see callAfterRestore). */
const RELOAD_ROUNDS = 4;

export interface SupervisorOptions {
  pool: WorkerPool;
  artifacts: ArtifactStore;
  kv: KvStore;
  events: EventStore;
  storage: Storage;
  defaults: ServiceLimits;
  /** Tenant quotas in force where an operator set none (env and Host.open over DEFAULT_QUOTAS). */
  quotas: TenantQuotas;
  onLog?: (entry: { tenant: string; service: string; level: LogLevel; message: string }) => void;
  /** Crash-loop back-off and limit (supervision.ts); default DEFAULT_SUPERVISION. */
  supervision?: Partial<SupervisionSettings>;
  /** A call read these secrets (each name once): secret_accessed events (host/vault), awaited before the reply. */
  onSecretReads?: (tenant: string, service: string, names: string[], actor?: string) => Promise<void>;
  /** Metrics (host/telemetry); default NOOP_TELEMETRY. call() reports each call here when Host.call gives it a start time. */
  telemetry?: Telemetry;
  /** Load shedding before calls queue (governance/admission.ts); default DEFAULT_ADMISSION. */
  admission?: Partial<AdmissionSettings>;
  /** Each service's circuit breaker (governance/circuit-breaker.ts); default DEFAULT_BREAKER. */
  breaker?: Partial<BreakerSettings>;
  /** Where tenants run and when they move (placement.ts); the pool must be built with the same settings. */
  fairness: FairnessSettings;
}

export class Supervisor {
  private readonly registry = new Registry();
  private readonly persistence: Persistence;
  private readonly accounting: Accounting;
  /** capability_denied events, with their own budget per service. */
  private readonly denials: Denials;
  /** Deploys and kills under way: drain() waits for them. */
  private readonly ops = new Set<Promise<unknown>>();
  /** Calls posted and not yet answered, every service: drain() waits for them. */
  private activeCalls = 0;
  private readonly governor: Governor;
  /** The committed kv, every load of it counted for the tenant's kvBytes use. */
  private readonly kv: KvStore;
  /** guest_event events (events.emit) and the summaries of refused emits. */
  private readonly guestEvents: GuestEvents;
  /** What settles the calls a call made to other services (nested-calls.ts). */
  private readonly nested: NestedParts;

  /** Every call passes it before it queues (governance/admission.ts). */
  private readonly admission: Admission;
  private readonly breaker: BreakerSettings;
  private readonly telemetry: Telemetry;
  /** Artifacts whose start code ran (start-proofs.ts): their deploys make no instance. */
  private readonly proofs = new StartProofs();

  constructor(private readonly o: SupervisorOptions) {
    this.breaker = breakerSettings(o.breaker);
    const telemetry = (this.telemetry = o.telemetry ?? NOOP_TELEMETRY);
    // Every refusal is counted in metrics; load_shed events are sampled.
    this.admission = new Admission(o.admission, (report) => this.shedEvent(report), (tenant) => telemetry.shed(tenant));
    this.persistence = new Persistence(o.events, o.storage);
    this.accounting = new Accounting((e) => this.persistence.record(e));
    this.governor = new Governor(o.quotas);
    const governor = this.governor;
    this.kv = {
      load: async (scope) => {
        const entries = await o.kv.load(scope);
        governor.kvLoaded(scope, entries);
        return entries;
      },
      commit: (scope, writes) => o.kv.commit(scope, writes),
      drop: (scope) => o.kv.drop(scope),
    };
    this.denials = new Denials((e) => this.persistence.record(e));
    // Not clipped like host events: the data is the guest's own (at most 4 KiB, checked in the worker).
    this.guestEvents = new GuestEvents((e) => o.events.append(e));
    this.nested = { registry: this.registry, kv: o.kv, governor, accounting: this.accounting, denials: this.denials, guestEvents: this.guestEvents, restoreKv: (rec) => this.restoreKv(rec), onLog: o.onLog };
    this.supervision = supervisionSettings(o.supervision);
    this.placement = new Placement({ registry: this.registry, pool: o.pool, governor, idle: (rec) => this.idle(rec) }, o.fairness);
    this.swaps = new Swaps({
      registry: this.registry, persistence: this.persistence, artifacts: o.artifacts, pool: o.pool, kv: this.kv, governor, denials: this.denials, defaults: o.defaults,
      record: (e) => this.persistence.record(e), idle: (rec) => this.idle(rec), restoreKv: (rec) => this.restoreKv(rec), track: (op) => this.track(op),
      switched: (rec) => this.closeCircuit(rec),
    });
  }

  private readonly swaps: Swaps;
  private readonly supervision: SupervisionSettings;
  private readonly placement: Placement;

  /** The pool's load report (placement.ts): heavy tenants move off shared workers. */
  onLoad(loads: TenantLoad[]): void {
    this.placement.onLoad(loads);
  }

  /** The pool saw a long call still running (placement.ts). */
  onLongCall(tenant: string, worker: number, ms: number): void {
    this.placement.onLongCall(tenant, worker, ms);
  }

  placementStats(): PlacementStats {
    return this.placement.counters();
  }

  workerOf(tenant: string): { worker: number; isolated: boolean } | undefined {
    const worker = this.registry.workerOf(tenant);
    return worker === undefined ? undefined : { worker, isolated: this.o.pool.isIsolated(worker) };
  }

  /** Replaces a running service's code in place (swap.ts): same name, same kv, no call lost. */
  swap(req: SwapRequest): Promise<SwapResult> {
    return this.swaps.swap(req);
  }

  rollback(tenant: string, service: string, version?: number, actor?: string): Promise<SwapResult> {
    return this.swaps.rollback(tenant, service, version, actor);
  }

  versions(tenant: string, service: string): VersionInfo[] {
    return this.swaps.versions(tenant, service);
  }

  /**
   * Kill, then deploy: the fallback when a swap cannot do (the kv starts empty). The source is built
   * first, so a bad one leaves the running version untouched.
   */
  async replace(req: DeployRequest): Promise<DeployResult> {
    const language = checkLanguage(req.language);
    const limits = resolveLimits(req.limits, this.o.defaults);
    // What the deploy would refuse is refused before anything is killed.
    resolveGuestCapabilities(req.capabilities);
    resolveServiceMeta(req.description, req.tags);
    this.registry.get(checkName("tenant", req.tenant), checkName("service", req.service));
    await buildArtifact(this.o.artifacts, language, req.source, req.file ?? defaultFile(req.service, language), limits, req.compiler, req.typeCheck);
    await this.kill(req.tenant, req.service, req.actor);
    return this.deploy(req);
  }

  /** Resolves once no call of the service is in flight (kill and swap wait for it). */
  private idle(rec: ServiceRecord): Promise<void> {
    if (rec.inflight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const before = rec.onIdle;
      rec.onIdle = () => {
        rec.onIdle = undefined;
        before?.();
        resolve();
      };
    });
  }

  deploy(req: DeployRequest): Promise<DeployResult> {
    return this.track(this.deployNow(req));
  }

  private async deployNow(req: DeployRequest): Promise<DeployResult> {
    const tenant = checkName("tenant", req.tenant);
    const service = checkName("service", req.service);
    const language = checkLanguage(req.language);
    const limits = resolveLimits(req.limits, this.o.defaults);
    const capabilities = resolveGuestCapabilities(req.capabilities);
    const meta = resolveServiceMeta(req.description, req.tags);
    const key = `${tenant}/${service}`;
    if (!this.registry.claim(key, this.registry.find(tenant, service) !== undefined)) {
      throw new SoloError("ALREADY_EXISTS", `service ${service} already exists in tenant ${tenant}; kill it first or hot-swap it`, { tenant, service });
    }
    let counted = false;
    try {
      const quotas = this.governor.quotas(tenant);
      if (limits.fuel > quotas.fuelPerCall) {
        // Asked for: refused. Taken from the defaults: the tenant's most.
        if (req.limits?.fuel !== undefined) throw quotaError(tenant, "fuelPerCall", quotas.fuelPerCall, limits.fuel, `the deploy asks for limits.fuel ${limits.fuel}`);
        limits.fuel = quotas.fuelPerCall;
      }
      const full = this.governor.startDeploy(tenant, this.registry.count(tenant));
      if (full) throw full;
      counted = true;
      return await this.install(tenant, service, key, req, limits, capabilities, meta);
    } catch (err) {
      const e = toSoloError(err);
      if (typeof e.details?.quota === "string") {
        const d = e.details;
        await this.accounting.recordFor(`${tenant}/`, { type: "resource_violation", tenant, service, data: { code: e.code, quota: d.quota, limit: d.limit, used: d.used, message: e.message } }).catch(() => {});
      }
      // The agent gets its own error (its diagnostics) even if the failure cannot be recorded.
      await this.persistence.record({ type: "service_deployment_failed", tenant, service, actor: req.actor, data: { language, code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } }).catch(() => {});
      throw e;
    } finally {
      if (counted) this.governor.endDeploy(tenant);
      this.registry.release(key);
    }
  }

  private async install(tenant: string, service: string, key: string, req: DeployRequest, limits: ServiceLimits, capabilities: string[], meta: ServiceMeta): Promise<DeployResult> {
    const language = req.language;
    const file = req.file ?? defaultFile(service, language);
    const { artifact, warnings } = await buildArtifact(this.o.artifacts, language, req.source, file, limits, req.compiler, req.typeCheck);
    if (this.registry.isMoving(tenant)) await this.registry.settled(tenant); // placement: a move of the tenant ends first
    const worker = this.registry.workerFor(tenant, () => this.o.pool.leastLoaded());
    this.o.pool.setQuota(worker, tenant, this.governor.workerQuota(tenant));
    // What the start code was denied is written before the deploy answers (later re-installs: in the background).
    let startDenials: Promise<void> | undefined;
    let denied = false;
    const onDenied = (names: string[]) => void ((denied = true), (startDenials = this.denials.record(tenant, service, names)));
    // An artifact whose start code already ran under limits no larger is not instantiated to prove it again.
    const iLimits = instanceLimits(limits);
    const lazy = this.proofs.find(artifact.hash, capabilities, iLimits);
    let memoryBytes = await this.o.pool.install(worker, { key, run: artifact.run, file, limits: iLimits, loadKv: () => this.kv.load(key), capabilities, onDenied }, lazy);
    await startDenials;
    if (!lazy) {
      if (!denied) this.proofs.record(artifact.hash, capabilities, iLimits, memoryBytes);
    } else if (!this.o.pool.isLive(worker, key)) {
      this.proofs.skipped++;
      memoryBytes = lazy.memoryBytes; // what its instance will start with (status says 0 until it has one)
    }
    const rec = newRecord({ tenant, service, language, limits, version: 1, deployedAt: new Date().toISOString(), warnings, artifact: artifact.hash, kind: artifact.run.kind, capabilities, ...meta, sourceHash: sourceHash(req.source), file }, worker, artifact, memoryBytes);
    rec.history[0] = versionOf(rec, "deploy", req.actor ?? "local");
    try {
      await this.persistence.deployed(rec, artifact.component, rec.history[0], { type: "service_deployed", tenant, service, actor: req.actor, data: { version: 1, artifact: artifact.hash, language, interfaces: artifact.interfaces, limits, capabilities, warnings: warnings.length, ...(meta.tags.length ? { tags: meta.tags } : {}) } });
    } catch (err) {
      // Not durable, so it did not happen: the instance goes, and nothing ever called it.
      await this.o.pool.uninstall(worker, key).catch(() => {});
      this.governor.forget(key);
      throw err;
    }
    this.registry.add(rec);
    return { tenant, service, version: 1, artifact: artifact.hash, language, interfaces: artifact.interfaces, limits, memoryBytes, warnings, capabilities: [...capabilities], description: meta.description, tags: [...meta.tags] };
  }

  /** Brings back every service stored before a restart (recovery.ts). */
  async recover(): Promise<number> {
    await this.loadQuotas();
    return recoverServices({
      registry: this.registry, persistence: this.persistence, artifacts: this.o.artifacts, pool: this.o.pool, kv: this.kv, denials: this.denials,
      beforeInstall: (tenant, worker) => this.o.pool.setQuota(worker, tenant, this.governor.workerQuota(tenant)),
    });
  }

  /** The quotas operators set before a restart; one unreadable record leaves its tenant on the defaults. */
  private async loadQuotas(): Promise<void> {
    for (const [k, value] of await this.persistence.storedServices(QUOTAS)) {
      try {
        this.governor.setOverride(k.slice(QUOTAS.length), checkQuotas(JSON.parse(value), "stored quotas"));
      } catch {
        // Written by setQuotas, so only a damaged database gets here; the defaults are safe.
      }
    }
  }

  /**
   * An operator sets some of a tenant's quotas (the others stay as they are); stored under
   * q:<tenant> with a quota_changed event in one batch, then in force at once, on the tenant's
   * worker too. Lowering one below what the tenant uses refuses only what comes next.
   */
  async setQuotas(tenantName: string, asked: Partial<TenantQuotas>): Promise<TenantQuotas> {
    const tenant = checkName("tenant", tenantName);
    const change = checkQuotas(asked, "quotas");
    const override = { ...this.governor.override(tenant), ...change };
    const previous = this.governor.quotas(tenant);
    await this.persistence.quotasChanged(tenant, override, { type: "quota_changed", tenant, data: { changed: change, quotas: { ...previous, ...change }, previous: { ...previous } } });
    const now = this.governor.setOverride(tenant, override);
    const worker = this.registry.workerOf(tenant);
    if (worker !== undefined) this.o.pool.setQuota(worker, tenant, this.governor.workerQuota(tenant));
    return now;
  }

  /** What the tenant uses against each of its quotas. */
  usage(tenantName: string): TenantUsage {
    const tenant = checkName("tenant", tenantName);
    const q = this.governor.quotas(tenant);
    const services = this.registry.services(tenant);
    let memory = 0;
    let busiest = 0;
    for (const rec of services) {
      memory += this.liveBytes(rec);
      if (rec.inflight > busiest) busiest = rec.inflight;
    }
    return {
      tenant,
      quotas: {
        memoryBytes: { limit: q.memoryBytes, used: memory },
        services: { limit: q.services, used: services.length },
        queuedCalls: { limit: q.queuedCalls, used: busiest },
        fuelPerCall: { limit: q.fuelPerCall },
        fuelPerSecond: { limit: q.fuelPerSecond, used: this.governor.fuelSpent(tenant), reserved: this.governor.fuelReserved(tenant) },
        kvBytes: { limit: q.kvBytes, used: this.governor.kvUsed(services.map((s) => s.key)) },
        kvKeyBytes: { limit: q.kvKeyBytes },
        kvValueBytes: { limit: q.kvValueBytes },
        kvKeysPerCall: { limit: q.kvKeysPerCall },
      },
    };
  }

  /**
   * A replaced worker could not re-create this service (its start code failed, hung or killed the
   * worker again): it stays listed as failed with the reason, and its calls answer UNAVAILABLE.
   */
  onServiceLost(key: string, error: SoloError): void {
    const rec = this.registry.byKey(key);
    if (!rec || rec.failure) return;
    rec.failure = { code: error.code, message: error.message };
    void this.accounting.recordCaused(rec, { type: "service_failed", tenant: rec.tenant, service: rec.service, data: { code: error.code, message: error.message } }).catch(() => {});
  }

  /** A worker was replaced: every service on it was re-created from its artifact. */
  onWorkerRestart(worker: number, reason: string): void {
    for (const rec of this.registry.all()) {
      if (rec.worker === worker) void this.accounting.recordCaused(rec, { type: "service_restarted", tenant: rec.tenant, service: rec.service, data: { reason } }).catch(() => {});
    }
  }

  /**
   * The hot path: one map lookup, then the worker. `started` (performance.now() when Host.call was
   * entered; given only when the host keeps metrics): the call is reported to telemetry where it
   * ends, refused here or answered in finish, so a call costs no extra promise step for metrics.
   */
  call(tenantName: string, serviceName: string, request: string, actor?: string, started?: number): Promise<CallReply> {
    const rec = this.registry.find(tenantName, serviceName);
    if (!rec) {
      try {
        this.registry.get(checkName("tenant", tenantName), checkName("service", serviceName));
      } catch (err) {
        return this.refused(tenantName, started, err);
      }
    }
    const r = rec!;
    if (r.failure) {
      return this.refused(tenantName, started, new SoloError("UNAVAILABLE", `service ${r.service} is not running: ${r.failure.message}; swap in a new version, or kill it and deploy it again`, { tenant: r.tenant, service: r.service, reason: r.failure.code }));
    }
    if (r.crash.until !== 0) {
      const wait = backingOff(r, Date.now());
      if (wait) {
        this.accounting.countError(r, "UNAVAILABLE");
        return this.refused(tenantName, started, wait);
      }
    }
    if (typeof request !== "string") return this.refused(tenantName, started, new SoloError("INVALID_ARGUMENT", "request must be a string", { field: "request" }));
    const max = r.limits.maxRequestBytes;
    if (request.length > max || (request.length * 3 > max && Buffer.byteLength(request) > max)) {
      this.accounting.countError(r, "INVALID_ARGUMENT");
      return this.refused(tenantName, started, new SoloError("INVALID_ARGUMENT", `request is over ${max} bytes; send less or raise limits.maxRequestBytes`, { field: "request", limitBytes: max }));
    }
    // A swap or rollback is switching versions: the call runs on the new one, a moment later.
    // Calls waiting there count against the tenant's queuedCalls like calls in flight.
    if (r.gate) return this.afterGate(r, r.gate, tenantName, serviceName, request, actor, started);
    // An open circuit breaker refuses at once; a half-open one lets a few trial calls through.
    let trial = false;
    const circuit = r.circuit;
    if (circuit !== undefined && circuit.state !== "closed") {
      const verdict = circuit.check(monotonicMs());
      if (verdict !== "trial") {
        this.accounting.countError(r, "UNAVAILABLE");
        return this.refused(tenantName, started, verdict);
      }
      trial = true;
    }
    // Load shedding: refused at once when the worker is over capacity (this tenant over its share).
    const lane = this.admission.admit(r.worker, r.tenant, r.service);
    if (lane instanceof SoloError) {
      if (trial) circuit!.release();
      this.accounting.countError(r, "UNAVAILABLE");
      return this.refused(tenantName, started, lane);
    }
    // From here the call holds `reserved` fuel of its tenant's bucket and its admission `lane`:
    // every path below gives them back exactly once (finish on an answer, or unanswered when no
    // answer can come).
    const reserved = this.governor.admit(r.tenant, r.inflight, r.limits.fuel);
    if (typeof reserved !== "number") {
      this.admission.done(lane, r.tenant, undefined);
      if (trial) circuit!.release();
      return this.refused(tenantName, started, this.accounting.refused(r, reserved));
    }
    r.inflight++;
    this.activeCalls++;
    if (r.kvUnknown) return this.metered(this.callAfterRestore(r, reserved, lane, trial, request, actor), tenantName, started);
    return this.dispatch(r, reserved, lane, trial, request, actor, started, tenantName);
  }

  /**
   * An admitted call, sent to its worker. One promise: the pool hands the result to `answered`
   * (every call gets one: errors, a replaced worker, a closed pool included) inside the loop that
   * takes results in, and finish, the one place the reservation goes, runs there and then. So
   * calls are accounted in the order their answers arrive (kv commits above all: finishSlow issues
   * them before its first await), whatever path each took to the worker.
   */
  private dispatch(r: ServiceRecord, reserved: number, lane: AdmissionLane, trial: boolean, request: string, actor: string | undefined, started: number | undefined, tenantName: string): Promise<CallReply> {
    let resolve!: (reply: CallReply | Promise<CallReply>) => void;
    let reject!: (err: unknown) => void;
    const reply = new Promise<CallReply>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const answered = (result: CallResult) => {
      try {
        resolve(this.finish(r, reserved, lane, trial, result, actor, started));
      } catch (err) {
        // A fault of the host's own: the caller gets it, and it is still reported. Nothing may
        // escape into the pool's loop (the rest of the batch would go unsettled).
        reject(err);
        try {
          this.report(tenantName, started, toSoloError(err).code, 0);
        } catch {
          // Telemetry failing too: the call is answered all the same.
        }
      }
    };
    try {
      this.o.pool.send(r.worker, r.key, request, answered);
    } catch (err) {
      this.unanswered(r, reserved, lane, trial);
      return this.refused(tenantName, started, err);
    }
    return reply;
  }

  /** What each worker's admission sees now: calls in flight, its limit, queue time, refusals. */
  admissionStatus(): LaneStatus[] {
    return this.admission.status();
  }

  /** The host is stopping: the refusals not yet in a load_shed event are written now. */
  closeAdmission(): void {
    this.admission.close();
  }

  /** A sampled load_shed event (admission.ts): calls of a tenant refused since its last one. */
  private shedEvent(r: ShedReport): void {
    const { tenant, service, ...data } = r;
    // Tracked, so close() waits for it (at most eventsPerSecond of them a second).
    void this.track(this.persistence.record({ type: "load_shed", tenant, service, data: { reason: "overloaded", ...data } })).catch(() => {});
  }

  /** A call's answer, as its service's circuit breaker counts it; the breaker is made at the first one. */
  private observeCircuit(rec: ServiceRecord, code: ErrorCode | undefined, trial: boolean, at: number | undefined): void {
    const change = (rec.circuit ??= new CircuitBreaker(this.breaker, rec.service)).record(code, trial, at ?? monotonicMs());
    if (change) this.circuitChanged(rec, change);
  }

  private circuitChanged(rec: ServiceRecord, c: CircuitChange): void {
    const b = this.breaker;
    this.telemetry.breaker(rec.tenant, rec.service, c.state);
    if (c.state === "open") {
      void this.persistence.record({
        type: "circuit_opened", tenant: rec.tenant, service: rec.service,
        data: { reason: c.reopened ? "trial-failed" : "failure-rate", version: rec.version, calls: c.calls, failures: c.failures, code: c.code, failureRate: b.failureRate, windowMs: b.windowMs, coolDownMs: b.coolDownMs },
      }).catch(() => {});
    } else {
      void this.persistence.record({ type: "circuit_closed", tenant: rec.tenant, service: rec.service, data: { reason: "trials-succeeded", version: rec.version, trials: c.calls } }).catch(() => {});
    }
  }

  /** A swap or rollback switched versions: the new code starts with a closed breaker. */
  private closeCircuit(rec: ServiceRecord): void {
    if (!rec.circuit?.reset()) return;
    this.telemetry.breaker(rec.tenant, rec.service, "closed");
    void this.persistence.record({ type: "circuit_closed", tenant: rec.tenant, service: rec.service, data: { reason: "swapped", version: rec.version } }).catch(() => {});
  }

  private afterGate(r: ServiceRecord, gate: Promise<void>, tenant: string, service: string, request: string, actor?: string, started?: number): Promise<CallReply> {
    const limit = this.governor.quotas(r.tenant).queuedCalls;
    if (r.inflight + r.gated >= limit) {
      return this.refused(tenant, started, this.accounting.refused(r, quotaError(r.tenant, "queuedCalls", limit, r.inflight + r.gated, `service ${r.service} is switching versions with ${r.gated} calls waiting`)));
    }
    r.gated++;
    return gate.then(() => {
      r.gated--;
      return this.call(tenant, service, request, actor, started); // reported where that call ends
    });
  }

  /** Reports a call that ended now to telemetry, when it is metered (`started` given; see call). */
  private report(tenant: string, started: number | undefined, code: string, fuel: number): void {
    if (started !== undefined) this.telemetry.callDone(tenant, code, (performance.now() - started) / 1000, fuel);
  }

  /** A call refused before it reached a worker: reported and rejected with `err`. */
  private refused(tenant: string, started: number | undefined, err: unknown): Promise<never> {
    this.report(tenant, started, toSoloError(err).code, 0);
    return Promise.reject(err);
  }

  /** A call's answer on a slow path (a promise): reported when it settles. */
  private metered(reply: Promise<CallReply>, tenant: string, started: number | undefined): Promise<CallReply> {
    if (started === undefined) return reply;
    return reply.then(
      (r) => {
        this.report(tenant, started, "OK", r.fuel);
        return r;
      },
      (err: unknown) => this.refused(tenant, started, err),
    );
  }

  /** Crash supervision (supervision.ts): crash loops backed off, then failed; a recovery recorded. */
  private supervise(rec: ServiceRecord, r: CallResult): void {
    if (!r.error) {
      // Back after crashes: one event when a re-created instance serves again (not one per attempt).
      if (r.restarted && rec.crash.consecutive > 0) {
        void this.accounting.recordCaused(rec, { type: "service_restarted", tenant: rec.tenant, service: rec.service, data: { reason: "crashed", crashes: rec.crash.consecutive } }).catch(() => {});
      }
      rec.crash = noCrashes();
      rec.crashAnsweredAt = undefined;
      return;
    }
    if (!isCrash(r.error.code, r.startFailed === true)) return;
    // At most one failed start per results message: calls answered together met the same failing
    // start (the worker runs it once for them), and a burst must not reach crashLimit in one batch,
    // before any back-off had a chance. A trap in handle counts every time: each one re-made the
    // instance and ran its start again.
    if (r.startFailed === true && r.answeredAt !== undefined) {
      if (r.answeredAt === rec.crashAnsweredAt) return;
      rec.crashAnsweredAt = r.answeredAt;
    }
    if (countCrash(rec, r.error.code, r.error.message, Date.now(), this.supervision) === "failed" && !rec.failure) {
      rec.failure = crashLoopFailure(rec);
      void this.accounting.recordCaused(rec, { type: "service_failed", tenant: rec.tenant, service: rec.service, data: { code: rec.failure.code, message: rec.failure.message, crashes: rec.crash.consecutive, last: rec.crash.last } }).catch(() => {});
    }
  }

  /** The service's kv copy is not known to be the committed state: it is reloaded first. */
  private async callAfterRestore(rec: ServiceRecord, reserved: number, lane: AdmissionLane, trial: boolean, request: string, actor?: string): Promise<CallReply> {
    try {
      // Joins the reload under way, if there is one: each caller starting its own would leave the
      // copy unknown for as long as calls keep coming (each reload outdates the one before, so
      // every call would run on an outdated copy and be refused).
      // A few rounds at most: calls between a tenant's services (nested-calls.ts) that land on
      // the copy meanwhile start reloads of their own, and a caller must not wait on them forever.
      for (let round = 0; rec.kvUnknown; round++) {
        if (round === RELOAD_ROUNDS) throw new SoloError("UNAVAILABLE", `${RELOAD_ROUNDS} reloads in a row were outdated by other calls`);
        await (rec.restoring ?? this.restoreKv(rec));
      }
    } catch (err) {
      this.unanswered(rec, reserved, lane, trial);
      this.accounting.countError(rec, "UNAVAILABLE");
      throw new SoloError("UNAVAILABLE", `service ${rec.service}'s kv could not be reloaded after a failed commit (${toSoloError(err).message}); try again`, { tenant: rec.tenant, service: rec.service });
    }
    // Sent as any call is, so its answer is accounted where it arrives, in order with the others.
    return this.dispatch(rec, reserved, lane, trial, request, actor, undefined, rec.tenant);
  }

  /** An admitted call that never ran: nothing used, its reservation, admission and trial back. */
  private unanswered(rec: ServiceRecord, reserved: number, lane: AdmissionLane, trial: boolean): void {
    this.governor.settle(rec.tenant, reserved, 0);
    this.admission.done(lane, rec.tenant, undefined);
    if (trial) rec.circuit?.release();
    this.done(rec);
  }

  /** Accounts for a call's result (reported to telemetry when `started` is given; see call); synchronous unless it must record an event or commit kv. */
  private finish(rec: ServiceRecord, reserved: number, lane: AdmissionLane, trial: boolean, r: CallResult, actor?: string, started?: number): CallReply | Promise<CallReply> {
    // First, before anything that could throw.
    this.governor.settle(rec.tenant, reserved, r.fuel);
    this.admission.done(lane, rec.tenant, r.waitMs, r.answeredAt, r.runMs);
    if (this.breaker.enabled) this.observeCircuit(rec, r.error?.code, trial, r.answeredAt);
    rec.calls++;
    rec.fuelUsed += r.fuel;
    if (r.memoryBytes) rec.memoryBytes = r.memoryBytes;
    if (r.logs && this.o.onLog) for (const [level, message] of r.logs) this.o.onLog({ tenant: rec.tenant, service: rec.service, level, message });
    if (rec.window) this.swaps.observe(rec, r.error?.code);
    if (r.error || r.restarted || rec.crash.consecutive > 0) this.supervise(rec, r);
    // Callees' counters now; their commits (if any) are issued here, before the caller's own.
    const nested = r.nested ? settleNested(this.nested, r.nested, actor) : undefined;
    if (r.error || r.writes || r.denied || r.secrets || nested || r.emits || r.emitsRefused) return this.metered(this.finishSlow(rec, r, actor, nested), rec.tenant, started);
    this.done(rec);
    this.report(rec.tenant, started, "OK", r.fuel);
    return { output: r.output ?? "", fuel: r.fuel, memoryBytes: r.memoryBytes };
  }

  private async finishSlow(rec: ServiceRecord, r: CallResult, actor?: string, nested?: Promise<SoloError | undefined>): Promise<CallReply> {
    // Commits are issued before any await, in the order results arrive: a later call's commit
    // to the same store must not land first. Callees' writes stand on their own success.
    const own = r.writes && !r.error && !rec.kvUnknown ? this.o.kv.commit(rec.key, r.writes) : undefined;
    own?.catch(() => {}); // awaited below
    try {
      const nestedFailure = await nested;
      if (r.denied) await this.denials.record(rec.tenant, rec.service, r.denied);
      if (r.secrets) await this.o.onSecretReads?.(rec.tenant, rec.service, r.secrets, actor);
      if (r.emitsRefused) await this.guestEvents.refused(rec.tenant, rec.service, r.emitsRefused, actor).catch(() => {});
      if (r.error) return await this.accounting.failure(rec, r.error, actor);
      if (r.writes) {
        if (!own) {
          // It ran on a copy that may hold another call's uncommitted writes: nothing of it is committed.
          void this.restoreKv(rec).catch(() => {});
          this.accounting.countError(rec, "UNAVAILABLE");
          throw new SoloError("UNAVAILABLE", "the call ran while the service's kv was being restored after a failed commit; its writes were not kept; try again", { tenant: rec.tenant, service: rec.service });
        }
        try {
          await own;
          if (r.kvBytes !== undefined) this.governor.kvCommitted(rec.key, r.kvBytes);
        } catch (err) {
          // The worker already applied the writes to its copy: until it is reloaded from the
          // committed state, no call's writes are committed on top of it.
          await this.restoreKv(rec).catch(() => {});
          this.accounting.countError(rec, "INTERNAL");
          throw new SoloError("INTERNAL", `the call's kv writes could not be committed: ${(err as Error).message}`);
        }
      }
      if (nestedFailure) {
        this.accounting.countError(rec, nestedFailure.code);
        throw nestedFailure;
      }
      // A successful call's emits, once its writes are durable (recorded only if the call succeeded).
      if (r.emits) await this.guestEvents.record(rec.tenant, rec.service, r.emits, actor);
      return { output: r.output ?? "", fuel: r.fuel, memoryBytes: r.memoryBytes };
    } finally {
      this.done(rec);
    }
  }

  /** Puts the worker's kv copy back to the committed state; kvUnknown until the latest one succeeds. */
  private restoreKv(rec: ServiceRecord): Promise<void> {
    rec.kvUnknown = true;
    const gen = ++rec.restoreGen;
    this.o.pool.markKvStale(rec.worker, rec.key, gen);
    const restore = (rec.restoring ?? Promise.resolve()).catch(() => {}).then(async () => {
      const kv = await this.kv.load(rec.key);
      await this.o.pool.reloadKv(rec.worker, rec.key, kv, gen);
      if (rec.restoreGen === gen) rec.kvUnknown = false;
    });
    rec.restoring = restore;
    // `restoring` is the latest reload while it is under way (callAfterRestore joins it).
    const over = () => {
      if (rec.restoring === restore) rec.restoring = undefined;
    };
    restore.then(over, over);
    return restore;
  }

  private done(rec: ServiceRecord): void {
    this.activeCalls--;
    if (--rec.inflight === 0 && rec.onIdle) rec.onIdle();
  }

  status(tenantName: string, serviceName: string): ServiceStatus {
    return this.statusNow(this.registry.get(checkName("tenant", tenantName), checkName("service", serviceName)));
  }

  list(tenantName: string): ServiceStatus[] {
    return this.registry.services(checkName("tenant", tenantName)).map((rec) => this.statusNow(rec));
  }

  /** Every service of every tenant (the audit's and the metrics' view). */
  everyService(): ServiceStatus[] {
    return [...this.registry.all()].map((rec) => this.statusNow(rec));
  }

  /** A service's status; memoryBytes is what its live instance holds (0 when it has none: evicted, or not called since a cached deploy). */
  private statusNow(rec: ServiceRecord): ServiceStatus {
    const s = statusOf(rec);
    s.memoryBytes = this.liveBytes(rec);
    return s;
  }

  private liveBytes(rec: ServiceRecord): number {
    return this.o.pool.isLive(rec.worker, rec.key) ? rec.memoryBytes : 0;
  }

  /**
   * Deployed services beside the instances that hold memory: live now, created and evicted ever
   * (workers' counts as of their last message), and deploys that made no instance (start-proofs.ts).
   */
  instanceStats(): InstanceCounts & { services: number; deploysWithoutStart: number } {
    let services = 0;
    for (const _ of this.registry.all()) services++;
    return { services, ...this.o.pool.instanceCounts(), deploysWithoutStart: this.proofs.skipped };
  }

  /** The tenant's services with their metadata, filtered by name and tag, and by `may` (a session's token). */
  discover(tenantName: string, filter: { name?: string; tag?: string } = {}, may?: (service: string) => boolean): ServiceInfo[] {
    const tenant = checkName("tenant", tenantName);
    const name = filter.name === undefined ? undefined : checkName("service", filter.name);
    const tag = filter.tag === undefined ? undefined : checkTag(filter.tag);
    return this.registry.discover(tenant, { name, tag }, may);
  }

  /** Stops the service and removes it with its kv state; if it fails, the service is still there. */
  kill(tenantName: string, serviceName: string, actor?: string): Promise<void> {
    return this.track(this.killNow(tenantName, serviceName, actor));
  }

  private async killNow(tenantName: string, serviceName: string, actor?: string): Promise<void> {
    const tenant = checkName("tenant", tenantName);
    const service = checkName("service", serviceName);
    // Placement: a move of the tenant ends first. Only then: a kill otherwise takes the name in the
    // same tick, so calls sent right after it get NOT_FOUND.
    if (this.registry.isMoving(tenant)) await this.registry.settled(tenant);
    const rec = this.registry.get(tenant, service);
    if (rec.switching) throw new SoloError("UNAVAILABLE", `a swap or rollback of service ${service} is under way; kill it when it has ended`, { tenant, service, retryAfterMs: 1000 });
    // New calls get NOT_FOUND, a deploy of the name ALREADY_EXISTS, while the kill runs.
    this.registry.remove(rec);
    this.swaps.closeWindow(rec);
    this.registry.claim(rec.key, false);
    try {
      // Calls already posted finish first, so no commit of theirs lands after the kv drop.
      await this.idle(rec);
      try {
        const keys = (await this.kv.load(rec.key)).map(([k]) => k);
        await this.persistence.killed(rec, keys, { type: "service_killed", tenant, service, actor, data: { version: rec.version, calls: rec.calls } });
      } catch (err) {
        // Not durable, so not killed: it is back, running as before.
        this.registry.add(rec);
        throw err;
      }
      // Record, kv and event are gone together: a restart cannot bring it back. The instance
      // goes last; if that fails (its worker restarting), the pool no longer re-creates it.
      this.governor.forget(rec.key);
      this.guestEvents.forget(rec.key);
      if (rec.built) await this.o.pool.uninstall(rec.worker, rec.key).catch(() => {});
    } finally {
      this.registry.release(rec.key);
    }
  }

  /** Waits until every deploy, kill and call under way has settled, or timeoutMs has passed. */
  async drain(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (this.ops.size > 0 || this.activeCalls > 0) {
      if (Date.now() >= until) return false;
      if (this.ops.size > 0) await Promise.race([Promise.allSettled(this.ops), new Promise((r) => setTimeout(r, Math.min(50, until - Date.now())))]);
      else await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  }

  private track<T>(op: Promise<T>): Promise<T> {
    this.ops.add(op);
    const forget = () => this.ops.delete(op);
    op.then(forget, forget);
    return op;
  }
}

