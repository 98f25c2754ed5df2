// The composition root: Host.open wires storage, artifacts, the worker pool and the supervisor.
// Opening starts the workers (~50 ms each); close() stops them and releases the data directory.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { checkLanguage, languageOf, type Language } from "./compile/index.ts";
import { checkTypeCheckMode, validateSource, type TypeCheckMode, type ValidationReport } from "./validate/index.ts";
import { SoloError } from "./errors.ts";
import { SPIN_TURN_MS, WorkerPool, isSpinMs, type CallChannel } from "./runtime/index.ts";
import { DEFAULT_LIMITS, resolveLimits, Supervisor, type CallReply, type DeployResult, type ServiceInfo, type ServiceLimits, type ServiceStatus, type SwapRequest, type SwapResult, type VersionInfo } from "./services/index.ts";
import { EventStore, readOnlyView, startRetention, type EventFilter, type EventLogView, type Retention, type RetentionPolicy, type RetentionTimer, type SoloEvent, type SubscribeOptions, type Subscription } from "./events/index.ts";
import { RocksKvStore, Storage, type FaultPlan, type VerifyReport } from "./storage/index.ts";
import { checkName, fairnessSettings, type FairnessSettings, type PlacementStats, type SupervisionSettings } from "./services/index.ts";
import { ensureWasmFeatures, type ArtifactCounters, type LogLevel } from "./wasm/index.ts";
import { ArtifactStore, Builder, DEFAULT_BUILD_LIMITS } from "./build/index.ts";
import { Capabilities, type Granted, type GrantRequest, type GrantInfo } from "./capability/index.ts";
import { DenialLog, Session, type DenialBudget } from "./session/index.ts";
import { checkQuotas, quotasFromEnv, type AdmissionSettings, type BreakerSettings, type LaneStatus, type TenantQuotas, type TenantUsage } from "./governance/index.ts";
import { SecretAccessLog, Vault, type RotationReport, type SecretInfo } from "./vault/index.ts";
import { Metrics, NOOP_TELEMETRY, type MetricsOptions, type Telemetry } from "./telemetry/index.ts";
import { Auditor, type AuditOptions, type AuditReport } from "./audit/index.ts";
import { LogBook, type LogFeed, type LogsOptions } from "./logs/index.ts";

export interface HostOptions {
  /** Where Solo keeps its state (artifacts now; the event log and kv with the storage issue). */
  dataDir: string;
  /** Worker threads that run guests (tenants start there); default one per core. */
  workers?: number;
  /**
   * How calls and results cross to the workers (runtime/call-ring.ts): "ring" (default;
   * shared-memory rings) or "message" (postMessage). The same answers either way.
   */
  callChannel?: CallChannel;
  /**
   * Ring channel: how long (ms) a side waits for an answer by spinning instead of sleeping, when
   * recent answers came that fast (runtime/call-ring.ts). Default 0.05; 0: never spin (a machine
   * shared with other busy work); at most 0.5 (what the API thread may spin in one turn of its loop).
   */
  callSpinMs?: number;
  /**
   * Fair placement (services/placement.ts): heavy tenants move to isolated low-priority threads
   * started on demand. `{ isolatedWorkers: 0 }` keeps every tenant where it was placed.
   */
  fairness?: Partial<FairnessSettings>;
  /** Limits for services that do not set their own. */
  defaults?: Partial<ServiceLimits>;
  /** Where compiled and metered artifacts are cached; default <dataDir>/artifacts. */
  cacheDir?: string;
  /** Receives every guest log line. */
  onLog?: (entry: GuestLog) => void;
  /**
   * Wall-clock time one build (validate, compile, check, meter) may take in the builder process;
   * past it the build is stopped and that deploy gets COMPILE_ERROR. Default 60 s.
   */
  buildTimeoutMs?: number;
  /** Resident memory the builder process may use during one build; default 2 GiB. */
  buildMemoryBytes?: number;
  /**
   * After close(), how long (ms) the builder process, if idle, waits for the next host opened in
   * this Node process (one with builderIdleMs too) to take it instead of starting its own: a builder's first build spends ~6 s
   * of CPU warming the AssemblyScript compiler, ~3.5 s the TypeScript one. Only for a host with the
   * same build memory limit and environment. Default: the SOLO_BUILDER_IDLE_MS environment
   * variable (the test runner sets it), else 0: close ends the builder.
   */
  builderIdleMs?: number;
  /**
   * TypeScript type-check findings: "warning" (default: kept in the deploy's warnings) or "error"
   * (every deploy with one is VALIDATION_FAILED, whatever the service asks). Default: the
   * SOLO_TYPECHECK environment variable, else "warning".
   */
  typeCheck?: TypeCheckMode;
  /** How long close() lets calls, deploys and kills in flight finish before it stops them; default 10 s. */
  closeTimeoutMs?: number;
  /**
   * Compacts old events (whole batches at a time), checked every intervalMs (default 60 s). A
   * failed run goes to onError (default: a line on stderr) and is counted in stats().
   */
  retention?: RetentionPolicy;
  /**
   * How many capability_denied events one tenant's refused requests may write: a burst, then a
   * rate (default 20, then 10/s); the rest are counted in the next one written (`suppressed`).
   */
  denialEvents?: DenialBudget;
  /** The clock tokens expire by (epoch ms); tests drive it. Default Date.now. */
  clock?: () => number;
  /**
   * Per-tenant quotas for tenants an operator gave none (setQuotas), over the SOLO_QUOTA_*
   * environment variables, over DEFAULT_QUOTAS.
   */
  quotas?: Partial<TenantQuotas>;
  /** A service that crashes in a row backs off, then is marked failed (default 3 crashes, 100 ms doubling to 10 s, failed at 10). */
  supervision?: Partial<SupervisionSettings>;
  /**
   * Prometheus metrics (host.metrics(), GET /metrics): how many tenants get their own label (topK,
   * default 20; the rest are "_other") and how often they are re-ranked. false: no metrics at all
   * (nothing is counted; metrics() answers UNAVAILABLE).
   */
  metrics?: MetricsOptions | false;
  /**
   * Load shedding (governance/admission.ts): calls refused at once with UNAVAILABLE when their
   * worker's queue time stays over targetMs (default 5) for intervalMs (100); enabled: false turns it off.
   */
  admission?: Partial<AdmissionSettings>;
  /**
   * Each service's circuit breaker (governance/circuit-breaker.ts): opens past failureRate (0.5)
   * of at least minCalls (20) calls within windowMs (10 s), half-opens after coolDownMs (5 s) with
   * halfOpenCalls (3) trial calls; enabled: false turns it off.
   */
  breaker?: Partial<BreakerSettings>;
  /**
   * Scale to zero: an instance not called for this long is dropped; the service stays deployed
   * (its record, kv copy and compiled module) and its next call re-creates the instance, start code
   * included, within that call's deadline. Default 60 s; 0 keeps instances until their service goes.
   */
  idleMs?: number;
  /** Live instances one worker keeps at most; past it the least recently called one is dropped (default 0: no cap). */
  maxLiveInstances?: number;
}

/** Host.stats().instances. */
export interface InstanceStats {
  /** Services deployed (every tenant, failed ones included). */
  services: number;
  /** Instances alive now, over every worker (as of each worker's last message). */
  live: number;
  /** Instances made (a deploy, a re-creation after a trap or an eviction), since the host opened. */
  created: number;
  /** Instances dropped for idleness (idleMs) or past the live cap (maxLiveInstances). */
  evicted: number;
  /** Deploys that made no instance: their artifact's start code had already run under limits no larger. */
  deploysWithoutStart: number;
}

export interface GuestLog {
  tenant: string;
  service: string;
  level: LogLevel;
  message: string;
}

export interface DeployOptions {
  tenant: string;
  service: string;
  /** Source text, or the bytes of a component for language "component". */
  source: string | Uint8Array;
  /** Default: from `file`'s extension. */
  language?: Language;
  file?: string;
  limits?: Partial<ServiceLimits>;
  /** For javascript: "quickjs" (default) or "javy" (needs a javy binary on PATH or JAVY_PATH). */
  compiler?: "quickjs" | "javy";
  /** TypeScript: "error" refuses a source with type errors (VALIDATION_FAILED); default "warning" (kept in warnings). */
  typeCheck?: TypeCheckMode;
  /**
   * What the service's imports may do (guest capabilities): log, clock, random, kv, emit,
   * secret:NAME, call:SERVICE. Default: log, clock, random, kv. A list replaces the default.
   */
  capabilities?: string[];
  /** Recorded as the events' actor; sessions set their token's id. Default "local" (the operator). */
  actor?: string;
  /** For discovery: what the service does, at most 500 characters. */
  description?: string;
  /** For discovery: up to 16 names (1-63 of a-z, 0-9, _ and -) that discover({ tag }) matches. */
  tags?: string[];
}

/** What discover() looks for: one tenant, and optionally one service name or one tag. */
export interface DiscoverOptions {
  tenant: string;
  name?: string;
  tag?: string;
}

/** A swap: the new version's source; what it leaves out (language, limits, capabilities) stays as it is. */
export type SwapOptions = Omit<SwapRequest, "language"> & { language?: Language };

/** Default HostOptions.idleMs. */
export const DEFAULT_IDLE_MS = 60_000;

/** A count or duration given at open that may be 0 (off): a whole number, 0 or more. */
function zeroOrMore(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new SoloError("INVALID_ARGUMENT", `${name} must be a whole number, 0 or more (0 turns it off); got ${String(value)}`, { field: name });
  return value;
}

/** Milliseconds a timer can wait: a whole number from 0 to 2^31 - 1 (about 24.8 days). */
function timerMs(name: string, value: number, shown: string = String(value)): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > 2 ** 31 - 1) {
    throw new SoloError("INVALID_ARGUMENT", `${name} must be a whole number of milliseconds from 0 (off) to ${2 ** 31 - 1} (about 24.8 days); got ${shown}`, { field: name });
  }
  return value;
}

/** timerMs from an environment variable: 0 when it is unset or empty. */
function envTimerMs(name: string): number {
  const v = process.env[name];
  return v === undefined || v === "" ? 0 : timerMs(name, Number(v), JSON.stringify(v));
}

/** A build limit given at open: a positive whole number. */
function buildLimit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new SoloError("INVALID_ARGUMENT", `${name} must be a positive whole number; got ${String(value)}`, { field: name });
  return value;
}

export class Host {
  private closed = false;
  private closing: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private closeTimeoutMs = 10_000;
  private retention: RetentionTimer | undefined;
  private readonly denials: DenialLog;
  /** The whole event log, every tenant, read-only: the operator's view. Tenants use events(). */
  readonly eventStore: EventLogView;
  /** Guest log lines kept in memory (logs/log-book.ts): a ring per service, and live readers. */
  private logBook!: LogBook;

  private constructor(
    readonly dataDir: string,
    private readonly storage: Storage,
    /** The log itself: only the host appends to it. */
    private readonly log: EventStore,
    private readonly pool: WorkerPool,
    private readonly artifacts: ArtifactStore,
    private readonly builder: Builder,
    private readonly supervisor: Supervisor,
    private readonly defaults: ServiceLimits,
    private readonly capabilities: Capabilities,
    denialBudget: DenialBudget | undefined,
    private readonly vault: Vault,
    private readonly metricsRegistry: Metrics | undefined,
    private readonly auditor: Auditor,
  ) {
    this.eventStore = readOnlyView(log);
    this.denials = new DenialLog((e) => log.append(e).then(() => {}), denialBudget);
  }

  static async open(options: HostOptions): Promise<Host> {
    if (!options || typeof options.dataDir !== "string") throw new SoloError("INVALID_ARGUMENT", "Host.open needs { dataDir }", { field: "dataDir" });
    if (options.callSpinMs !== undefined && !isSpinMs(options.callSpinMs)) throw new SoloError("INVALID_ARGUMENT", `callSpinMs must be a number of milliseconds from 0 to ${SPIN_TURN_MS}; got ${JSON.stringify(options.callSpinMs)}`, { field: "callSpinMs" });
    if (options.callChannel !== undefined && options.callChannel !== "message" && options.callChannel !== "ring") throw new SoloError("INVALID_ARGUMENT", `callChannel must be "message" or "ring"; got ${JSON.stringify(options.callChannel)}`, { field: "callChannel" });
    ensureWasmFeatures();
    const dataDir = resolve(options.dataDir);
    mkdirSync(dataDir, { recursive: true });
    const defaults = resolveLimits(options.defaults, DEFAULT_LIMITS);
    const quotas: TenantQuotas = { ...quotasFromEnv(), ...checkQuotas(options.quotas, "quotas") };
    const closeTimeoutMs = buildLimit("closeTimeoutMs", options.closeTimeoutMs, 10_000);
    const idleMs = zeroOrMore("idleMs", options.idleMs, DEFAULT_IDLE_MS);
    const maxLiveInstances = zeroOrMore("maxLiveInstances", options.maxLiveInstances, 0);
    const metrics = options.metrics === false ? undefined : new Metrics(options.metrics ?? {});
    const telemetry: Telemetry = metrics ?? NOOP_TELEMETRY;
    const cacheDir = options.cacheDir ?? join(dataDir, "artifacts");
    const fairness = fairnessSettings(options.fairness);
    const builder = new Builder({
      ...(metrics && { onBuild: (outcome: string, seconds: number) => telemetry.build(outcome, seconds) }),
      cacheDir,
      timeoutMs: buildLimit("buildTimeoutMs", options.buildTimeoutMs, DEFAULT_BUILD_LIMITS.timeoutMs),
      memoryBytes: buildLimit("buildMemoryBytes", options.buildMemoryBytes, DEFAULT_BUILD_LIMITS.memoryBytes),
      idleMs: options.builderIdleMs !== undefined ? timerMs("builderIdleMs", options.builderIdleMs) : envTimerMs("SOLO_BUILDER_IDLE_MS"),
    });
    const typeCheck = checkTypeCheckMode(options.typeCheck, "typeCheck") ?? checkTypeCheckMode(process.env.SOLO_TYPECHECK, "SOLO_TYPECHECK") ?? "warning";
    const artifacts = new ArtifactStore(builder, cacheDir, metrics && ((seconds: number) => telemetry.build("cached", seconds)), typeCheck);
    const storage = await Storage.open(join(dataDir, "db"));
    if (metrics) storage.onBatch = (n, seconds) => telemetry.eventsAppended(n, seconds);
    let pool: WorkerPool | undefined;
    let auditor: Auditor | undefined;
    try {
      const events = await EventStore.open(storage);
      // Before any service starts: their installs carry the secrets they are granted.
      const vault = await Vault.open({ storage, events, dataDir });
      const accessLog = new SecretAccessLog((e) => events.append(e));
      let supervisor: Supervisor | undefined;
      const onRestart = (w: number, reason: string) => {
        telemetry.workerRestart(w, reason);
        auditor?.workerRestarted();
        supervisor?.onWorkerRestart(w, reason);
      };
      pool = new WorkerPool({
        size: options.workers, channel: options.callChannel, spinMs: options.callSpinMs, onRestart, onLost: (key, err) => supervisor?.onServiceLost(key, err), secretsFor: (tenant, names) => vault.snapshot(tenant, names), telemetry,
        isolated: fairness.isolatedWorkers, isolatedNice: fairness.nice, loadWindowMs: fairness.loadWindowMs, longCallMs: fairness.heavyCallMs,
        onLoad: (loads) => supervisor?.onLoad(loads), onLongCall: (tenant, worker, ms) => supervisor?.onLongCall(tenant, worker, ms),
        idleMs, maxLiveInstances,
      });
      const workers = pool;
      vault.onChange = (tenant, name, value, seq) => workers.updateSecret(tenant, name, value, seq);
      const logBook = new LogBook();
      supervisor = new Supervisor({ pool, artifacts, kv: new RocksKvStore(storage), events, storage, defaults, quotas, onLog: (l) => {
        logBook.add(l.tenant, l.service, l.level, l.message);
        try {
          options.onLog?.(l);
        } catch {
          // An embedder's listener that throws loses its line, not the call's accounting: logs are
          // handed on while the call is settled (its reservation, its kv commit, kill's drain).
        }
      }, supervision: options.supervision, onSecretReads: (tenant, service, names, actor) => accessLog.record(tenant, service, names, actor), admission: options.admission, breaker: options.breaker, fairness, telemetry });
      // Services deployed before a restart come back, from their stored artifacts.
      await supervisor.recover();
      const capabilities = await Capabilities.open({ storage, events, keyFile: join(dataDir, "capability.key"), now: options.clock });
      const sup = supervisor;
      const clock = options.clock ?? Date.now;
      auditor = new Auditor({
        dataDir,
        storage,
        services: () => sup.everyService(),
        usage: (tenant) => sup.usage(tenant),
        grants: () => capabilities.list(),
        workers: () => workers.workerStates(),
        now: clock,
      });
      metrics?.sampleWith(() => {
        const services = sup.everyService();
        const memory = new Map<string, number>();
        const states: Record<string, number> = { running: 0, failed: 0 };
        const breakers = { open: 0, "half-open": 0 };
        for (const s of services) {
          memory.set(s.tenant, (memory.get(s.tenant) ?? 0) + s.memoryBytes);
          states[s.state] = (states[s.state] ?? 0) + 1;
          if (s.circuit.state !== "closed") breakers[s.circuit.state]++;
        }
        return { tenantMemory: memory, queueDepth: workers.workerStates().map((w) => w.calls), services: states, breakers, workers: workers.size };
      });
      const host = new Host(dataDir, storage, events, pool, artifacts, builder, supervisor, defaults, capabilities, options.denialEvents, vault, metrics, auditor);
      host.closeTimeoutMs = closeTimeoutMs;
      host.logBook = logBook;
      if (options.retention && (options.retention.maxAgeMs !== undefined || options.retention.maxEvents !== undefined)) {
        host.retention = startRetention(events, options.retention);
      }
      return host;
    } catch (err) {
      // Nothing half-open is left behind: the workers stop and the database is released.
      await builder.close();
      await pool?.close();
      await storage.close();
      throw err;
    }
  }

  /**
   * A caller holding `token`: every operation of the session checks the token first (on every use,
   * so expiry and revocation take effect at once). This is how anything outside the process (the
   * API server, an agent) reaches the host; the Host's own methods are the in-process operator's.
   * `peer` names the client (its certificate's subject): events then record `peer:tokenId`.
   */
  session(token: string, options: { peer?: string } = {}): Session {
    this.checkOpen();
    return new Session(this, this.capabilities, this.denials, token, options.peer);
  }

  /** The operator grants a token (any tenant, any permission). Returns it once; only its id is kept. */
  grant(request: GrantRequest): Promise<Granted> {
    this.checkOpen();
    return this.capabilities.grant(request);
  }

  /** The operator revokes a token (text or id) and everything derived from it. */
  revoke(tokenOrId: string): Promise<{ id: string; revoked: number }> {
    this.checkOpen();
    return this.capabilities.revoke(tokenOrId);
  }

  /** The grants of a tenant (or all), never the tokens. */
  grants(tenant?: string): GrantInfo[] {
    this.checkOpen();
    return this.capabilities.list(tenant);
  }

  /**
   * Stores (or replaces) a tenant's secret, sealed with the master key; resolves once it and its
   * secret_stored event are durable. Services granted `secret:NAME` read the new value from their
   * next call. The value: 1 to 65,536 UTF-8 bytes.
   */
  putSecret(tenant: string, name: string, value: string, actor?: string): Promise<SecretInfo> {
    if (this.closed) return Promise.reject(new SoloError("UNAVAILABLE", "the host is closed"));
    return this.vault.store(tenant, name, value, actor);
  }

  /** The tenant's secrets: names, versions and times, never values. */
  secrets(tenant: string): SecretInfo[] {
    this.checkOpen();
    return this.vault.list(tenant);
  }

  /** A secret's value (the in-process operator's; over the API only an admin token may ask). */
  secret(tenant: string, name: string): string {
    this.checkOpen();
    return this.vault.retrieve(tenant, name);
  }

  /** Removes a secret with a secret_revoked event; services granted it get not-found from their next call. */
  removeSecret(tenant: string, name: string, actor?: string): Promise<SecretInfo> {
    if (this.closed) return Promise.reject(new SoloError("UNAVAILABLE", "the host is closed"));
    return this.vault.revoke(tenant, name, actor);
  }

  /**
   * Re-seals every secret under a new master key (default: a random one in <dataDir>/master.key;
   * with SOLO_MASTER_KEY, give the new key and set the variable to it before the next start).
   * Survives a crash at any point: the next open finishes it.
   */
  rotateSecrets(newKey?: string): Promise<RotationReport> {
    if (this.closed) return Promise.reject(new SoloError("UNAVAILABLE", "the host is closed"));
    return this.vault.rotate(newKey);
  }

  /** Compiles (or takes from cache), checks, meters and starts a service. */
  async deploy(options: DeployOptions): Promise<DeployResult> {
    this.checkOpen();
    const language = options.language ?? (options.file ? languageOf(options.file) : undefined);
    if (!language) throw new SoloError("INVALID_ARGUMENT", "give a language, or a file name whose extension names one (.as.ts, .ts, .js, .wasm)", { field: "language" });
    return this.supervisor.deploy({ ...options, language });
  }

  /**
   * Checks source against Solo's rules without deploying it, in the builder process (~1 ms per
   * 10 KB); TypeScript is also type-checked there (~20-60 ms warm; the builder's start and the
   * checker's first load ~2-4 s). Type findings are warnings, or errors under the host's
   * typeCheck "error" or `typeCheck: "error"` here.
   */
  async validate(options: { source: string | Uint8Array; language?: Language; file?: string; typeCheck?: TypeCheckMode }): Promise<ValidationReport> {
    const language = options.language ?? (options.file ? languageOf(options.file) : undefined);
    if (!language) throw new SoloError("INVALID_ARGUMENT", "give a language, or a file name whose extension names one (.as.ts, .ts, .js, .wasm)", { field: "language" });
    const lang = checkLanguage(language);
    const mode = checkTypeCheckMode(options.typeCheck) === "error" || this.artifacts.typeCheckMode === "error" ? "error" : "warning";
    // Here only what costs nothing: the size, and for a binary language everything. The rules lex
    // the whole source (~1-4 s for a megabyte of nesting), so they run in the builder like the
    // type check, never on the API thread every tenant's calls go through.
    const max = this.defaults.maxSourceBytes;
    if (lang === "component" || lang === "javy") return validateSource({ source: options.source, language: lang, maxSourceBytes: max });
    // Size and UTF-8 only: validateSource stops there for a binary language.
    const cheap = validateSource({ source: options.source, language: "component", maxSourceBytes: max });
    if (!cheap.ok) return cheap;
    this.checkOpen();
    return this.artifacts.check({ language: lang, source: options.source, file: options.file ?? "guest.ts", maxSourceBytes: this.defaults.maxSourceBytes, typeCheck: mode });
  }

  /** Runs the service's handle(request) under its fuel, memory and deadline limits. */
  call(tenant: string, service: string, request: string, actor?: string): Promise<CallReply> {
    if (this.closed) return Promise.reject(new SoloError("UNAVAILABLE", "the host is closed"));
    // Metrics: the supervisor reports the call where it ends (refused, or answered), from this
    // clock reading: no promise step of its own (bench/telemetry.ts measures what metrics cost).
    if (!this.metricsRegistry) return this.supervisor.call(tenant, service, request, actor);
    return this.supervisor.call(tenant, service, request, actor, performance.now());
  }

  status(tenant: string, service: string): ServiceStatus {
    this.checkOpen();
    return this.supervisor.status(tenant, service);
  }

  list(tenant: string): ServiceStatus[] {
    this.checkOpen();
    return this.supervisor.list(tenant);
  }

  /**
   * The tenant's services with what a caller needs to pick one (version, language, capabilities,
   * description, tags, state), by name; only `name`, only those tagged `tag`. The operator sees
   * every one; a session only those its token may call.
   */
  discover(options: DiscoverOptions, may?: (service: string) => boolean): ServiceInfo[] {
    this.checkOpen();
    if (!options || typeof options !== "object") throw new SoloError("INVALID_ARGUMENT", "discover needs { tenant, name?, tag? }", { field: "tenant" });
    return this.supervisor.discover(options.tenant, { name: options.name, tag: options.tag }, may);
  }

  async kill(tenant: string, service: string, actor?: string): Promise<void> {
    this.checkOpen();
    await this.supervisor.kill(tenant, service, actor);
    this.logBook.forget(tenant, service);
  }

  /**
   * The service's (or, without one, every service's of the tenant) last `tail` log lines kept in
   * memory (default all kept: at most 200 a service), then lines logged later while `follow`.
   * Close what you open; a reader too slow for its lines gets a `dropped` line instead of them.
   */
  logs(tenant: string, service?: string, options: LogsOptions = {}): LogFeed {
    this.checkOpen();
    return this.logBook.open(checkName("tenant", tenant), service === undefined ? undefined : checkName("service", service), options);
  }

  /**
   * Replaces a running service's code in place: built and checked first (a failure leaves the
   * running version untouched), instantiated beside the old one, health-checked, migrated, then
   * switched to between two calls; kv is kept and no call fails. Within the rollback window Solo
   * switches back by itself if the new version keeps failing.
   */
  async swap(options: SwapOptions): Promise<SwapResult> {
    this.checkOpen();
    const language = options.language ?? (options.file ? languageOf(options.file) : undefined);
    return this.supervisor.swap({ ...options, ...(language ? { language } : {}) });
  }

  /** Makes an older version current again (default: the previous one). */
  async rollback(tenant: string, service: string, version?: number, actor?: string): Promise<SwapResult> {
    this.checkOpen();
    return this.supervisor.rollback(tenant, service, version, actor);
  }

  /** The service's versions, oldest first. */
  versions(tenant: string, service: string): VersionInfo[] {
    this.checkOpen();
    return this.supervisor.versions(tenant, service);
  }

  /** Kill, then deploy (the kv starts empty): when a swap cannot do. The source is built first. */
  async replace(options: DeployOptions): Promise<DeployResult> {
    this.checkOpen();
    const language = options.language ?? (options.file ? languageOf(options.file) : undefined);
    if (!language) throw new SoloError("INVALID_ARGUMENT", "give a language, or a file name whose extension names one (.as.ts, .ts, .js, .wasm)", { field: "language" });
    return this.supervisor.replace({ ...options, language });
  }

  /**
   * Sets some of a tenant's quotas (an operator's call): stored with a quota_changed event, in
   * force at once and after a restart. Answers the tenant's quotas now.
   */
  async setQuotas(tenant: string, quotas: Partial<TenantQuotas>): Promise<TenantQuotas> {
    this.checkOpen();
    return this.supervisor.setQuotas(tenant, quotas);
  }

  /** What the tenant uses against each of its quotas. */
  usage(tenant: string): TenantUsage {
    this.checkOpen();
    return this.supervisor.usage(tenant);
  }

  /** The tenant's own events, in id order. Another tenant's events are never visible. */
  events(tenant: string, filter: Omit<EventFilter, "tenant"> = {}): AsyncGenerator<SoloEvent> {
    this.checkOpen();
    return this.eventStore.stream({ ...filter, tenant: checkName("tenant", tenant) });
  }

  /** The tenant's events after options.after, then live ones as they are recorded. */
  subscribe(tenant: string, filter: Omit<EventFilter, "tenant"> = {}, options: SubscribeOptions = {}): Subscription {
    this.checkOpen();
    return this.eventStore.subscribe({ ...filter, tenant: checkName("tenant", tenant) }, options);
  }

  /** One of the tenant's events by id; NOT_FOUND for a missing id or another tenant's event. */
  async event(tenant: string, id: string): Promise<SoloEvent> {
    this.checkOpen();
    const e = await this.eventStore.get(id);
    if (!e || e.tenant !== checkName("tenant", tenant)) throw new SoloError("NOT_FOUND", `event ${id} not found in tenant ${tenant}`);
    return e;
  }

  /** Walks the hash chain of the whole log; reports the first broken link. */
  async verifyEvents(): Promise<VerifyReport> {
    this.checkOpen();
    return this.eventStore.verify();
  }

  /** Applies a retention policy now; returns how many events were removed. */
  async compactEvents(retention: Retention): Promise<number> {
    this.checkOpen();
    return this.log.compact(retention);
  }

  /**
   * FOR TESTS ONLY: makes storage fail the operations the plan picks (null: none), as a RocksDB
   * error would, so tests can reach the failure paths of deploy, kill and kv commits. Never
   * call it on a host that holds data you care about.
   */
  injectStorageFaults(plan: FaultPlan | null): Promise<void> {
    this.checkOpen();
    return this.storage.injectFaults(plan);
  }

  /**
   * The Prometheus text of the host's metrics (docs/OPERATIONS.md, Metrics). With `tenant`, only
   * what that tenant may see: host-wide series and its own, never another tenant's. Reading it
   * ranks tenants for their labels and reads states (memory, queues, services): ~1 ms per 1,000
   * services.
   */
  async metrics(tenant?: string): Promise<string> {
    this.checkOpen();
    if (!this.metricsRegistry) throw new SoloError("UNAVAILABLE", "this host was opened with metrics: false, so it keeps no metrics; open it without that option");
    return this.metricsRegistry.text(tenant);
  }

  /**
   * Checks the host's health (docs/API.md, Audit): the event chain (only what was appended since
   * the last audit, unless `full`; the first audit after open walks the whole log), storage,
   * workers, tenants near or over quota, services crashing or behind an open breaker, tokens and
   * certificates about to expire. Answers the worst component's status and each component's.
   */
  audit(options: AuditOptions = {}): Promise<AuditReport> {
    if (this.closed) return Promise.reject(new SoloError("UNAVAILABLE", "the host is closed"));
    return this.auditor.run(options);
  }

  /**
   * Counters of the artifact cache, the worker pool, the builder process, admission and placement
   * (`workers`: the shared workers; `placement.isolatedWorkers`: the isolated ones started for heavy tenants).
   * `instances`: deployed services beside live instances (scale to zero): `live` now, `created` and
   * `evicted` ever, `deploysWithoutStart` (cached deploys that made no instance). `spins`: lone
   * calls whose answer the API thread spun for on the ring channel, and how many it caught.
   */
  stats(): { artifacts: ArtifactCounters; workers: number; workerRestarts: number; builderStarts: number; builderRestarts: number; retentionFailures: number; admission: LaneStatus[]; placement: PlacementStats; instances: InstanceStats; spins: { spun: number; caught: number } } {
    return {
      artifacts: { ...this.artifacts.counters }, workers: this.pool.size, workerRestarts: this.pool.restarts, builderStarts: this.builder.started, builderRestarts: this.builder.restarts, retentionFailures: this.retention?.failures ?? 0,
      admission: this.supervisor.admissionStatus(), placement: this.supervisor.placementStats(), instances: this.supervisor.instanceStats(), spins: this.pool.spinCounts(),
    };
  }

  /** The worker a tenant's services run on (shared ones first, isolated ones after), if it has one. */
  workerOf(tenant: string): { worker: number; isolated: boolean } | undefined {
    this.checkOpen();
    return this.supervisor.workerOf(checkName("tenant", tenant));
  }

  /**
   * Refuses new work (UNAVAILABLE) at once, lets calls, deploys and kills in flight finish (up to
   * closeTimeoutMs), then stops what is left as destroy() does and releases the data directory.
   */
  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.supervisor.drain(this.closeTimeoutMs).then(() => this.destroy());
    return this.closing;
  }

  /**
   * Stops at once: builds and calls in flight fail with UNAVAILABLE, every pending promise
   * settles, the workers and the builder process stop and the data directory is released.
   */
  destroy(): Promise<void> {
    this.closed = true;
    this.stopping ??= (async () => {
      this.retention?.stop();
      await this.builder.close();
      await this.pool.close();
      this.supervisor.closeAdmission();
      // What was waiting on a build or a worker now fails; its failure event is still written.
      await this.supervisor.drain(2_000);
      this.log.close();
      this.logBook.closeAll();
      await this.storage.close();
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private checkOpen() {
    if (this.closed) throw new SoloError("UNAVAILABLE", "the host is closed");
  }
}
