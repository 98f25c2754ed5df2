// The composition root: Host.open wires storage, artifacts, the worker pool and the supervisor.
// Opening starts the workers (~50 ms each); close() stops them and releases the data directory.
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { languageOf, type Language } from "./compile/index.ts";
import { SoloError } from "./errors.ts";
import { WorkerPool } from "./runtime/index.ts";
import { DEFAULT_LIMITS, resolveLimits, Supervisor, type CallReply, type DeployResult, type ServiceLimits, type ServiceStatus } from "./services/index.ts";
import { MemoryKvStore } from "./storage/index.ts";
import { ArtifactStore, ensureWasmFeatures, type ArtifactCounters, type LogLevel } from "./wasm/index.ts";

export interface HostOptions {
  /** Where Solo keeps its state (artifacts now; the event log and kv with the storage issue). */
  dataDir: string;
  /** Worker threads that run guests; default one per core. */
  workers?: number;
  /** Limits for services that do not set their own. */
  defaults?: Partial<ServiceLimits>;
  /** Where compiled and metered artifacts are cached; default <dataDir>/artifacts. */
  cacheDir?: string;
  /** Receives every guest log line. */
  onLog?: (entry: GuestLog) => void;
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
}

export class Host {
  private closed = false;

  private constructor(
    readonly dataDir: string,
    private readonly pool: WorkerPool,
    private readonly artifacts: ArtifactStore,
    private readonly supervisor: Supervisor,
  ) {}

  static async open(options: HostOptions): Promise<Host> {
    if (!options || typeof options.dataDir !== "string") throw new SoloError("INVALID_ARGUMENT", "Host.open needs { dataDir }", { field: "dataDir" });
    ensureWasmFeatures();
    const dataDir = resolve(options.dataDir);
    mkdirSync(dataDir, { recursive: true });
    const defaults = resolveLimits(options.defaults, DEFAULT_LIMITS);
    const artifacts = new ArtifactStore(options.cacheDir ?? join(dataDir, "artifacts"));
    const pool = new WorkerPool({ size: options.workers });
    const supervisor = new Supervisor({ pool, artifacts, kv: new MemoryKvStore(), defaults, onLog: options.onLog });
    return new Host(dataDir, pool, artifacts, supervisor);
  }

  /** Compiles (or takes from cache), checks, meters and starts a service. */
  deploy(options: DeployOptions): Promise<DeployResult> {
    this.checkOpen();
    const language = options.language ?? (options.file ? languageOf(options.file) : undefined);
    if (!language) throw new SoloError("INVALID_ARGUMENT", "give a language, or a file name whose extension names one (.as.ts, .ts, .js, .wasm)", { field: "language" });
    return this.supervisor.deploy({ ...options, language });
  }

  /** Runs the service's handle(request) under its fuel, memory and deadline limits. */
  call(tenant: string, service: string, request: string): Promise<CallReply> {
    this.checkOpen();
    return this.supervisor.call(tenant, service, request);
  }

  status(tenant: string, service: string): ServiceStatus {
    this.checkOpen();
    return this.supervisor.status(tenant, service);
  }

  list(tenant: string): ServiceStatus[] {
    this.checkOpen();
    return this.supervisor.list(tenant);
  }

  kill(tenant: string, service: string): Promise<void> {
    this.checkOpen();
    return this.supervisor.kill(tenant, service);
  }

  /** Counters of the artifact cache and the worker pool. */
  stats(): { artifacts: ArtifactCounters; workers: number; workerRestarts: number } {
    return { artifacts: { ...this.artifacts.counters }, workers: this.pool.size, workerRestarts: this.pool.restarts };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private checkOpen() {
    if (this.closed) throw new SoloError("UNAVAILABLE", "the host is closed");
  }
}
