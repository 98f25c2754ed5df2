// Artifacts: checked, metered, compiled guests, cached by content hash on disk and in memory.
//
//   source --compile--> component   key: sha256(language, source, sdk+WIT, compiler version+flags)
//   component --inspect--> core module --meter--> metered  key: sha256(module, meter settings)
//   metered --WebAssembly.Module--> compiled (memory only; posted to workers, never recompiled)
//
// Compiling costs ~0.3-1.5 s (AssemblyScript); metering ~1-10 ms; V8 compile a few ms. A cache
// hit on both levels costs one hash of the source and two map lookups.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SoloError } from "../errors.ts";
import { ensureWasmFeatures } from "./engine.ts";
import { inspectComponent, type InspectLimits, DEFAULT_INSPECT_LIMITS } from "./inspect.ts";
import { DEFAULT_METER_SETTINGS, meter, type MeterReport, type MeterSettings } from "./meter.ts";

/** Bumped whenever the metering pass changes what it emits. */
export const METER_VERSION = "1";

export interface Artifact {
  /** sha256 of the component bytes. */
  hash: string;
  component: Uint8Array;
  module: WebAssembly.Module;
  encoding: "utf8" | "utf16";
  interfaces: string[];
  meter: MeterReport;
}

export interface ArtifactCounters {
  compiles: number;
  compileHits: number;
  meters: number;
  meterHits: number;
}

export type Compiler = () => Promise<Uint8Array>;

export class ArtifactStore {
  readonly counters: ArtifactCounters = { compiles: 0, compileHits: 0, meters: 0, meterHits: 0 };
  private readonly components = new Map<string, Uint8Array>();
  private readonly artifacts = new Map<string, Artifact>();
  private readonly inflight = new Map<string, Promise<Uint8Array>>();

  /** dir: where components and metered modules are kept; undefined keeps them in memory only. */
  constructor(
    private readonly dir: string | undefined,
    private readonly settings: MeterSettings = DEFAULT_METER_SETTINGS,
    private readonly limits: InspectLimits = DEFAULT_INSPECT_LIMITS,
  ) {
    ensureWasmFeatures();
    if (dir) {
      mkdirSync(join(dir, "components"), { recursive: true });
      mkdirSync(join(dir, "metered"), { recursive: true });
    }
  }

  /** Returns the component for a compile key, compiling at most once (also across concurrent calls). */
  async component(key: string, compile: Compiler): Promise<Uint8Array> {
    const hit = this.components.get(key) ?? this.readDisk("components", key);
    if (hit) {
      this.counters.compileHits++;
      this.components.set(key, hit);
      return hit;
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = compile().then((bytes) => {
        this.counters.compiles++;
        this.components.set(key, bytes);
        this.writeDisk("components", key, bytes);
        return bytes;
      });
      this.inflight.set(key, pending);
      pending.finally(() => this.inflight.delete(key)).catch(() => {});
    }
    return pending;
  }

  /** Inspects, meters and compiles a component; each step's result is cached. */
  artifact(component: Uint8Array): Artifact {
    const hash = sha256(component);
    const cached = this.artifacts.get(hash);
    if (cached) return cached;
    const inspected = inspectComponent(component, this.limits);
    const meterKey = sha256(inspected.module, METER_VERSION, JSON.stringify(this.settings, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
    let metered: Uint8Array<ArrayBuffer> | undefined = this.readDisk("metered", meterKey);
    let report: MeterReport;
    if (metered) {
      this.counters.meterHits++;
      report = JSON.parse(readFileSync(join(this.dir!, "metered", `${meterKey}.json`), "utf8")) as MeterReport;
    } else {
      const out = meter(inspected.module, this.settings);
      this.counters.meters++;
      metered = out.bytes;
      report = out.report;
      // The report goes first: a metered module on disk always has its report beside it.
      if (this.dir) writeFileSync(join(this.dir, "metered", `${meterKey}.json`), JSON.stringify(report));
      this.writeDisk("metered", meterKey, metered);
    }
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(metered);
    } catch (err) {
      throw new SoloError("VALIDATION_FAILED", `guest module does not validate: ${(err as Error).message}`);
    }
    const artifact: Artifact = { hash, component, module, encoding: inspected.stringEncoding, interfaces: inspected.interfaces, meter: report };
    this.artifacts.set(hash, artifact);
    return artifact;
  }

  /** Hashes of components kept on disk. */
  storedComponents(): string[] {
    if (!this.dir) return [...this.components.keys()];
    return readdirSync(join(this.dir, "components")).filter((f) => f.endsWith(".wasm")).map((f) => f.slice(0, -5));
  }

  private readDisk(kind: string, key: string): Uint8Array<ArrayBuffer> | undefined {
    if (!this.dir) return undefined;
    try {
      return new Uint8Array(readFileSync(join(this.dir, kind, `${key}.wasm`)));
    } catch {
      return undefined;
    }
  }

  private writeDisk(kind: string, key: string, bytes: Uint8Array) {
    if (!this.dir) return;
    const path = join(this.dir, kind, `${key}.wasm`);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path); // atomic: a reader never sees half a file
  }
}

export function sha256(...parts: (Uint8Array | string)[]): string {
  const h = createHash("sha256");
  for (const p of parts) {
    h.update(p);
    h.update("\0");
  }
  return h.digest("hex");
}
