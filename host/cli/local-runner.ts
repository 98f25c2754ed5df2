// `solo run`'s engine: one guest on one worker thread, without a Host. The artifact comes from the
// build cache's on-disk index when the source was built before (no builder process, no compiler
// loaded: ~10-50 ms), else from the builder; the worker is the host's own (runtime/worker.ts, the
// same limits, capabilities and kv view) behind a one-thread WorkerPool, whose watchdog keeps
// --deadline. kv lives in memory, or with --data in RocksDB (Storage) under `run/<service>`, so
// a later run of the same service starts where this one stopped. No event log, no quotas, no gRPC.
import { ArtifactStore } from "../build/artifact-store.ts";
import { Builder, DEFAULT_BUILD_LIMITS } from "../build/builder.ts";
import { DEFAULT_GUEST_CAPABILITIES } from "../capability/guest.ts";
import type { Language } from "../compile/languages.ts";
import { SoloError } from "../errors.ts";
import { WorkerPool } from "../runtime/pool.ts";
import type { CallResult } from "../runtime/protocol.ts";
import { buildArtifact } from "../services/build.ts";
import { ensureWasmFeatures } from "../wasm/engine.ts";
import { instanceLimits } from "../services/instance-limits.ts";
import { resolveLimits, type ServiceLimits } from "../services/limits.ts";
import type { Storage } from "../storage/storage.ts";

export interface LocalRunOptions {
  language: Language;
  source: string | Uint8Array;
  /** The file name diagnostics show. */
  file: string;
  /** The service's name: its kv is `run/<service>` in dataDir. */
  service: string;
  limits: Partial<ServiceLimits>;
  /** The build cache (compiled artifacts and the built index). */
  cacheDir: string;
  /** Where kv is kept between runs (RocksDB); in memory when absent. */
  dataDir?: string;
  /** A prebuilt worker entry (bin/cli-bundle.mjs); default: the worker from source. */
  workerEntry?: URL;
}

export class LocalRun {
  private constructor(
    private readonly pool: WorkerPool,
    private readonly key: string,
    private readonly limits: ServiceLimits,
    private readonly kv: Map<string, string>,
    private readonly storage: Storage | undefined,
  ) {}

  /** Builds (or reads back) the guest and starts its instance; a failure is the deploy's SoloError. */
  static async open(o: LocalRunOptions): Promise<LocalRun> {
    ensureWasmFeatures(); // before this thread compiles the guest's modules (QuickJS needs extended-const)
    const limits = resolveLimits(o.limits);
    const key = `run/${o.service}`;
    // The thread starts now and loads while the artifact is read and compiled.
    const pool = new WorkerPool({ size: 1, ...(o.workerEntry && { entry: o.workerEntry }) });
    const builder = new Builder({ ...DEFAULT_BUILD_LIMITS, cacheDir: o.cacheDir });
    const opening = o.dataDir === undefined ? undefined : import("../storage/storage.ts").then((m) => m.Storage.open(o.dataDir!));
    opening?.catch(() => {}); // awaited below; a failed build must not leave it unhandled
    let storage: Storage | undefined;
    try {
      const { artifact } = await buildArtifact(new ArtifactStore(builder, o.cacheDir), o.language, o.source, o.file, limits);
      storage = await opening;
      const kv = new Map<string, string>(storage ? await storage.kvLoad(key) : []);
      await pool.install(0, { key, run: artifact.run, limits: instanceLimits(limits), loadKv: async () => [...kv], capabilities: DEFAULT_GUEST_CAPABILITIES });
      return new LocalRun(pool, key, limits, kv, storage);
    } catch (err) {
      await pool.close();
      await (storage ?? (await opening?.catch(() => undefined)))?.close();
      throw err;
    } finally {
      await builder.close();
    }
  }

  /** One call: its kv writes are committed (durably with --data) before it answers. */
  async call(request: string): Promise<CallResult> {
    const max = this.limits.maxRequestBytes;
    if (request.length > max || Buffer.byteLength(request) > max) {
      return { id: 0, fuel: 0, memoryBytes: 0, error: { code: "INVALID_ARGUMENT", message: `request is over ${max} bytes; send less or raise limits.maxRequestBytes`, details: { field: "request", limitBytes: max } } };
    }
    const r = await this.pool.call(0, this.key, request);
    if (r.writes && !r.error) {
      if (this.storage) {
        try {
          await this.storage.write({ kv: [this.key, r.writes] });
        } catch (err) {
          // Not durable, so it did not happen: the worker's copy goes back to what is stored.
          await this.pool.reloadKv(0, this.key, await this.storage.kvLoad(this.key)).catch(() => {});
          throw err instanceof SoloError ? err : new SoloError("INTERNAL", `kv commit failed: ${(err as Error).message}`);
        }
      }
      // The copy a replaced worker (past a deadline) starts from.
      for (const [k, v] of r.writes) {
        if (v === null) this.kv.delete(k);
        else this.kv.set(k, v);
      }
    }
    return r;
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.storage?.close();
  }
}
