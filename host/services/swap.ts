// Hot swap and rollback: a service changes version in place, keeping its name, its kv and every
// call. The order of steps is what keeps each promise:
//   1. build (compile, validate, inspect, meter): any failure leaves the running version untouched;
//   2. prepare: the new version is instantiated beside the old one on the same worker, sharing its
//      kv copy, and must pass its health check; calls keep running on the old one meanwhile;
//   3. the gate: new calls wait; calls in flight finish (and commit) on the old instance;
//   4. migrate (if the guest exports it) runs once on the new instance;
//   5. ONE batch makes it durable: the service record, the version record, migrate's kv writes and
//      the event. A SIGKILL before it leaves the old version, after it the new one, never a mix;
//   6. activate: the new instance serves every later call; the gate opens.
// Only 3-6 hold calls back (a round trip to the worker and one fsync): the switch time.
// A rollback runs the same steps with a kept version's artifact (no compile, no migrate).
import { SoloError, toSoloError } from "../errors.ts";
import { checkLanguage } from "../compile/index.ts";
import type { Artifact, ArtifactStore } from "../build/index.ts";
import type { InstallSpec, WorkerPool } from "../runtime/index.ts";
import type { KvStore } from "../storage/index.ts";
import type { EventInput } from "../events/index.ts";
import { resolveGuestCapabilities } from "../capability/guest.ts";
import { quotaError, type Governor } from "../governance/index.ts";
import { checkName } from "./names.ts";
import { buildArtifact, builtBySolo, defaultFile } from "./build.ts";
import { resolveLimits, type ServiceLimits } from "./limits.ts";
import { instanceLimits } from "./instance-limits.ts";
import type { Persistence } from "./persistence.ts";
import type { Registry } from "./registry.ts";
import type { Denials } from "./denials.ts";
import { HEALTH_INTERVAL_MS, observe, windowOptions, type WindowOptions } from "./rollback-window.ts";
import { noCrashes } from "./supervision.ts";
import { keptArtifacts, sourceHash, versionInfos, type VersionInfo, type VersionRecord } from "./versions.ts";
import type { ServiceRecord, StoredService, SwapRequest, SwapResult } from "./service-record.ts";

export interface SwapParts {
  registry: Registry;
  persistence: Persistence;
  artifacts: ArtifactStore;
  pool: WorkerPool;
  kv: KvStore;
  governor: Governor;
  denials: Denials;
  defaults: ServiceLimits;
  /** Appends an event (resolves once durable). */
  record: (e: EventInput) => Promise<void>;
  /** Resolves once no call of the service is in flight. */
  idle: (rec: ServiceRecord) => Promise<void>;
  /** Puts the worker's kv copy back to the committed state. */
  restoreKv: (rec: ServiceRecord) => Promise<void>;
  /** Keeps a swap or rollback in the set drain() waits for. */
  track: <T>(op: Promise<T>) => Promise<T>;
  /** The service now runs another version (its batch is durable): its circuit breaker closes. */
  switched?: (rec: ServiceRecord) => void;
}

/** What a version switch installs. */
interface Target {
  meta: StoredService;
  built: Artifact;
  /** A swap's new version record (a rollback makes an existing one current). */
  version?: VersionRecord;
  /** The component to store (a swap's new artifact). */
  component?: Uint8Array;
  health?: { request: string; expect: string };
  /** Run migrate(fromVersion) before the switch. */
  migrateFrom?: number;
}

export class Swaps {
  constructor(private readonly p: SwapParts) {}

  swap(req: SwapRequest): Promise<SwapResult> {
    return this.p.track(this.swapNow(req));
  }

  private async swapNow(req: SwapRequest): Promise<SwapResult> {
    const rec = this.p.registry.get(checkName("tenant", req.tenant), checkName("service", req.service));
    const window = windowOptions(req);
    this.lock(rec);
    const from = rec.version;
    try {
      const language = checkLanguage(req.language ?? rec.language);
      const limits = resolveLimits({ ...rec.limits, ...req.limits }, this.p.defaults);
      const quotas = this.p.governor.quotas(rec.tenant);
      if (limits.fuel > quotas.fuelPerCall) throw quotaError(rec.tenant, "fuelPerCall", quotas.fuelPerCall, limits.fuel, `the swap asks for limits.fuel ${limits.fuel}`);
      const capabilities = resolveGuestCapabilities(req.capabilities ?? rec.capabilities);
      await this.p.record({ type: "hot_swap_started", tenant: rec.tenant, service: rec.service, actor: req.actor, data: { fromVersion: from, language } });
      try {
        const file = req.file ?? defaultFile(rec.service, language);
        const { artifact, warnings } = await buildArtifact(this.p.artifacts, language, req.source, file, limits, req.compiler, req.typeCheck);
        const version = Math.max(...rec.history.map((v) => v.version)) + 1;
        const at = new Date().toISOString();
        const meta: StoredService = {
          tenant: rec.tenant, service: rec.service, language, limits, version, deployedAt: at, warnings, artifact: artifact.hash, kind: artifact.run.kind,
          capabilities, sourceHash: sourceHash(req.source), description: rec.description ?? "", tags: [...(rec.tags ?? [])], file,
        };
        const record: VersionRecord = { version, artifact: artifact.hash, sourceHash: meta.sourceHash!, language, kind: meta.kind, capabilities: [...capabilities], limits: { ...limits }, at, actor: req.actor ?? "local", via: "swap", file };
        const previous = { meta: storedOf(rec), built: rec.built };
        const switchMs = await this.switchTo(rec, { meta, built: artifact, version: record, component: artifact.component, health: window.health, migrateFrom: from }, {
          type: "hot_swap_succeeded", tenant: rec.tenant, service: rec.service, actor: req.actor,
          data: { fromVersion: from, toVersion: version, artifact: artifact.hash, language, capabilities, rollbackWindowMs: window.windowMs },
        });
        if (previous.built) this.openWindow(rec, previous.meta, previous.built, window, window.health !== undefined || artifact.lifecycle.includes("health"));
        return { ...this.result(rec, from, switchMs), warnings, ...(rec.window ? { rollbackUntil: rec.window.until } : {}) };
      } catch (err) {
        const e = toSoloError(err);
        await this.p.record({ type: "hot_swap_failed", tenant: rec.tenant, service: rec.service, actor: req.actor, data: { fromVersion: from, code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } }).catch(() => {});
        throw e;
      }
    } finally {
      rec.switching = false;
    }
  }

  /** Makes an older version current again: the previous one, or `version` while its artifact is kept. */
  rollback(tenantName: string, serviceName: string, version?: number, actor?: string): Promise<SwapResult> {
    return this.p.track(this.rollbackNow(tenantName, serviceName, version, actor));
  }

  private async rollbackNow(tenantName: string, serviceName: string, version: number | undefined, actor?: string): Promise<SwapResult> {
    const rec = this.p.registry.get(checkName("tenant", tenantName), checkName("service", serviceName));
    if (version !== undefined && (!Number.isInteger(version) || version < 1)) throw new SoloError("INVALID_ARGUMENT", "version must be a positive integer (see versions)", { field: "version" });
    this.lock(rec);
    try {
      const target = version ?? rec.previousVersion;
      if (target === undefined) throw new SoloError("INVALID_ARGUMENT", `service ${rec.service} has no previous version to roll back to; give a version (see versions)`, { field: "version" });
      if (target === rec.version) throw new SoloError("INVALID_ARGUMENT", `version ${target} is already current`, { field: "version", version: target });
      const v = rec.history.find((h) => h.version === target);
      if (!v) throw new SoloError("NOT_FOUND", `service ${rec.service} has no version ${target}; its versions are ${rec.history.map((h) => h.version).join(", ")}`, { tenant: rec.tenant, service: rec.service, version: target });
      const built = await this.builtOf(rec, v);
      return await this.rollTo(rec, v, built, { automatic: false, actor });
    } finally {
      rec.switching = false;
    }
  }

  versions(tenantName: string, serviceName: string): VersionInfo[] {
    const rec = this.p.registry.get(checkName("tenant", tenantName), checkName("service", serviceName));
    return versionInfos(rec.history, rec.version);
  }

  /** Closes a service's window (kill, redeploy): nothing more is watched or rolled back. */
  closeWindow(rec: ServiceRecord): void {
    if (!rec.window) return;
    clearInterval(rec.window.timer);
    rec.window = undefined;
  }

  /**
   * A call of the service answered (`code` if it failed): in an open window, it counts, and too
   * many failures roll the service back by itself.
   */
  observe(rec: ServiceRecord, code: SoloError["code"] | undefined, failed = false): void {
    const w = rec.window;
    if (!w) return;
    if (Date.now() >= w.until) return this.closeWindow(rec);
    if (!observe(w, code, failed) || rec.switching) return;
    const v = rec.history.find((h) => h.version === w.previous.version)!;
    const reason = `${w.failures} of ${w.calls} calls of version ${rec.version} failed in its rollback window (more than ${Math.round(w.maxFailureRate * 100)}%)`;
    const codes = { ...w.codes };
    const built = w.previousBuilt;
    this.closeWindow(rec);
    rec.switching = true;
    const from = rec.version;
    void this.p.track(this.rollTo(rec, v, built, { automatic: true, reason, codes }))
      .catch((err) => {
        // The new version serves on: say so, with why the way back failed.
        const e = toSoloError(err);
        return this.p.record({ type: "hot_swap_failed", tenant: rec.tenant, service: rec.service, data: { automatic: true, fromVersion: from, toVersion: v.version, reason, codes, code: e.code, message: `the automatic rollback failed: ${e.message}` } });
      })
      .catch(() => {})
      .finally(() => (rec.switching = false));
  }

  private async rollTo(rec: ServiceRecord, v: VersionRecord, built: Artifact, why: { automatic: boolean; actor?: string; reason?: string; codes?: Record<string, number> }): Promise<SwapResult> {
    const from = rec.version;
    const meta: StoredService = {
      tenant: rec.tenant, service: rec.service, language: v.language, limits: { ...v.limits }, version: v.version, deployedAt: v.at, warnings: [],
      artifact: v.artifact, kind: v.kind, capabilities: [...v.capabilities], ...(v.sourceHash ? { sourceHash: v.sourceHash } : {}),
      description: rec.description ?? "", tags: [...(rec.tags ?? [])], ...(v.file ? { file: v.file } : {}),
    };
    this.closeWindow(rec);
    const switchMs = await this.switchTo(rec, { meta, built }, {
      type: "hot_swap_rolled_back", tenant: rec.tenant, service: rec.service, actor: why.actor,
      data: { fromVersion: from, toVersion: v.version, automatic: why.automatic, ...(why.reason ? { reason: why.reason } : {}), ...(why.codes ? { codes: why.codes } : {}) },
    });
    return { ...this.result(rec, from, switchMs), warnings: [] };
  }

  /** A kept version's artifact: in memory while its window is open, else from the database. */
  private async builtOf(rec: ServiceRecord, v: VersionRecord): Promise<Artifact> {
    if (rec.window?.previous.artifact === v.artifact) return rec.window.previousBuilt;
    if (rec.built?.hash === v.artifact) return rec.built;
    if (!rec.kept.has(v.artifact)) {
      throw new SoloError("NOT_FOUND", `version ${v.version}'s artifact is no longer kept (Solo keeps those of the newest versions); swap its source in again`, { tenant: rec.tenant, service: rec.service, version: v.version });
    }
    const bytes = await this.p.persistence.artifactBytes(v.artifact);
    return v.kind === "javy" ? this.p.artifacts.fromJavy(bytes) : this.p.artifacts.fromComponent(bytes, builtBySolo(v.language));
  }

  /** One swap or rollback at a time per service, and none while it is killed. */
  private lock(rec: ServiceRecord): void {
    if (rec.switching || this.p.registry.isBusy(rec.key) || this.p.registry.find(rec.tenant, rec.service) !== rec) {
      throw new SoloError("UNAVAILABLE", `a swap, rollback or kill of service ${rec.service} is under way; try again when it has ended`, { tenant: rec.tenant, service: rec.service, retryAfterMs: 1000 });
    }
    rec.switching = true;
  }

  /** Steps 2-6 (see the top of this file); resolves to the switch time in ms. */
  private async switchTo(rec: ServiceRecord, t: Target, event: EventInput): Promise<number> {
    const { pool } = this.p;
    // Placement may be moving the tenant to another worker: the swap runs where it ends up. No new
    // move starts meanwhile (the service is switching).
    if (this.p.registry.isMoving(rec.tenant)) await this.p.registry.settled(rec.tenant);
    const fresh = rec.failure !== undefined || !rec.built;
    const denials = this.p.denials;
    const spec: InstallSpec = {
      key: rec.key, run: t.built.run, file: t.meta.file ?? defaultFile(rec.service, t.meta.language), limits: instanceLimits(t.meta.limits), loadKv: () => this.p.kv.load(rec.key), capabilities: t.meta.capabilities,
      onDenied: (denied) => void denials.record(rec.tenant, rec.service, denied),
    };
    this.p.pool.setQuota(rec.worker, rec.tenant, this.p.governor.workerQuota(rec.tenant));
    const memoryBytes = await pool.prepare(rec.worker, spec, t.health, fresh);
    let open!: () => void;
    rec.gate = new Promise<void>((resolve) => (open = resolve));
    const started = performance.now();
    try {
      await this.p.idle(rec);
      let kv: [string, NonNullable<Awaited<ReturnType<WorkerPool["migrate"]>>["writes"]>] | undefined;
      let kvBytes: number | undefined;
      try {
        if (t.migrateFrom !== undefined && t.built.lifecycle.includes("migrate")) {
          const m = await pool.migrate(rec.worker, rec.key, t.migrateFrom);
          if (m.writes) kv = [rec.key, m.writes];
          kvBytes = m.kvBytes;
        }
        const history = t.version ? [...rec.history, t.version] : rec.history;
        const kept = keptArtifacts(history, t.meta.version);
        // The version it replaces is stored too, so rollback() and status know it after a restart.
        t.meta.previousVersion = rec.version;
        await this.p.persistence.switched(t.meta, t.version, t.component, rec.kept, kept, kv, event);
        rec.history = history;
        rec.kept = kept;
      } catch (err) {
        await pool.abort(rec.worker, rec.key).catch(() => {});
        // migrate's writes are in the worker's copy but were never committed.
        if (kv) await this.p.restoreKv(rec).catch(() => {});
        throw err;
      }
      if (kvBytes !== undefined) this.p.governor.kvCommitted(rec.key, kvBytes);
      // Whatever window watched the version it replaces is over; a swap opens its own afterwards.
      this.closeWindow(rec);
      Object.assign(rec, t.meta, { built: t.built, interfaces: t.built.interfaces, memoryBytes: memoryBytes || rec.memoryBytes });
      rec.sourceHash = t.meta.sourceHash;
      rec.file = t.meta.file;
      rec.failure = undefined;
      rec.crash = noCrashes();
      this.p.switched?.(rec);
      try {
        await pool.activate(rec.worker, spec);
      } catch (err) {
        // Durable, but its worker cannot run it: listed as failed, as after a lost worker.
        const e = toSoloError(err);
        rec.failure = { code: e.code, message: `version ${t.meta.version} could not be started after the switch: ${e.message}; swap again` };
      }
      return performance.now() - started;
    } finally {
      rec.gate = undefined;
      open();
    }
  }

  /** `checkHealth`: the window also runs the health check every HEALTH_INTERVAL_MS. */
  private openWindow(rec: ServiceRecord, previous: StoredService, previousBuilt: Artifact, o: WindowOptions, checkHealth: boolean): void {
    if (o.windowMs === 0) return;
    const until = Date.now() + o.windowMs;
    // One timer: runs the health check while the window is open and closes it at the end.
    const timer = setInterval(() => {
      if (rec.window?.timer !== timer) return clearInterval(timer);
      if (Date.now() >= until) return this.closeWindow(rec);
      if (!checkHealth || rec.switching || rec.gate || rec.failure) return;
      this.p.pool.health(rec.worker, rec.key, o.health).then(
        () => this.observe(rec, undefined),
        (err) => {
          if (rec.window?.timer === timer) this.observe(rec, toSoloError(err).code, true);
        },
      );
    }, Math.min(HEALTH_INTERVAL_MS, o.windowMs));
    timer.unref();
    rec.window = { until, previous, previousBuilt, maxFailureRate: o.maxFailureRate, ...(o.health ? { health: o.health } : {}), calls: 0, failures: 0, codes: {}, timer };
  }

  private result(rec: ServiceRecord, from: number, switchMs: number): Omit<SwapResult, "warnings"> {
    return {
      tenant: rec.tenant, service: rec.service, version: rec.version, previousVersion: from, artifact: rec.artifact, language: rec.language,
      switchMs: Math.round(switchMs * 1000) / 1000, capabilities: [...rec.capabilities],
    };
  }
}

/** The stored part of a running service's record. */
export function storedOf(rec: ServiceRecord): StoredService {
  return {
    tenant: rec.tenant, service: rec.service, language: rec.language, limits: { ...rec.limits }, version: rec.version, deployedAt: rec.deployedAt,
    warnings: rec.warnings, artifact: rec.artifact, kind: rec.kind, capabilities: [...rec.capabilities], ...(rec.sourceHash ? { sourceHash: rec.sourceHash } : {}),
    description: rec.description ?? "", tags: [...(rec.tags ?? [])], ...(rec.previousVersion !== undefined ? { previousVersion: rec.previousVersion } : {}),
    ...(rec.file ? { file: rec.file } : {}),
  };
}
