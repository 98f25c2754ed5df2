// Artifacts: checked, metered, compiled guests, cached by content hash on disk and in memory.
//
//   source --compile--> component   key: sha256(language, source, sdk+WIT, compiler version+flags)
//   component --inspect--> core module --meter--> metered  key: sha256(module, meter settings)
//   metered --WebAssembly.Module--> compiled (memory only; posted to workers, never recompiled)
//
// Compiling costs ~0.3-1.5 s (AssemblyScript); metering ~1-10 ms; V8 compile a few ms. A cache
// hit on both levels costs one hash of the source and two map lookups.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { SoloError } from "../errors.ts";
import { ensureWasmFeatures } from "./engine.ts";
import { checkShape, inspectComponent, type InspectLimits, DEFAULT_INSPECT_LIMITS } from "./inspect.ts";
import { readModuleInfo } from "./module-info.ts";
import { isCoreModule } from "./binary.ts";
import { GLUE_NAME, transpileComponent } from "./transpile.ts";
import { shapeKey, walkCoreModules } from "./component.ts";
import { DEFAULT_METER_SETTINGS, meter, type MeterReport, type MeterSettings } from "./meter.ts";

/** Bumped whenever the metering pass changes what it emits. */
export const METER_VERSION = "4";

/** How a worker runs an artifact. Modules are compiled once here and posted, never recompiled. */
export type Runnable =
  | { kind: "core"; module: WebAssembly.Module; encoding: "utf8" | "utf16" }
  | { kind: "glue"; glueUrl: string; modules: Record<string, WebAssembly.Module> }
  | { kind: "javy"; module: WebAssembly.Module };

export interface Artifact {
  /** sha256 of the component bytes. */
  hash: string;
  component: Uint8Array;
  run: Runnable;
  interfaces: string[];
  /** What metering instrumented, summed over the artifact's modules. */
  meter: MeterReport;
}

/** Where the glue of one component shape lives, and where each module it asks for comes from. */
interface Layout {
  dir: string;
  /** Module name -> index in walkCoreModules(component), or a file in `dir` that jco made. */
  names: Record<string, number | string>;
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
  private readonly bySource = new Map<string, Artifact>();
  private readonly layouts = new Map<string, Layout>();
  private readonly inflight = new Map<string, Promise<Uint8Array>>();
  /** jco glue is loaded with import(), so it must be a file even when nothing else is on disk. */
  private readonly glueDir: string;

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
    this.glueDir = join(dir ?? join(tmpdir(), "solo-glue"), "glue");
  }

  /** Returns the component for a compile key, compiling at most once (also across concurrent calls). */
  async component(key: string, compile: Compiler): Promise<Uint8Array> {
    const hit = this.components.get(key) ?? this.readDisk("components", key);
    if (hit) {
      this.counters.compileHits++;
      return hit;
    }
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = compile().then((bytes) => {
        this.counters.compiles++;
        // With a directory the disk is the cache; only a memory-only store keeps the bytes here.
        if (this.dir) this.writeDisk("components", key, bytes);
        else this.components.set(key, bytes);
        return bytes;
      });
      this.inflight.set(key, pending);
      pending.finally(() => this.inflight.delete(key)).catch(() => {});
    }
    return pending;
  }

  /** Source (by compile key) -> artifact; a repeat deploy of a known source skips even hashing the component. */
  async fromSource(key: string, compile: Compiler): Promise<Artifact> {
    const known = this.bySource.get(key);
    if (known) {
      this.counters.compileHits++;
      return known;
    }
    const artifact = await this.artifact(await this.component(key, compile));
    this.bySource.set(key, artifact);
    return artifact;
  }

  /** Inspects, meters and compiles a component; each step's result is cached. */
  async artifact(component: Uint8Array): Promise<Artifact> {
    const hash = sha256(component);
    const cached = this.artifacts.get(hash);
    if (cached) return cached;
    const inspected = inspectComponent(component, this.limits);
    let artifact: Artifact;
    if (inspected.kind === "core") {
      const { module, report } = this.metered(inspected.module, this.settings);
      artifact = { hash, component, run: { kind: "core", module, encoding: inspected.stringEncoding }, interfaces: inspected.interfaces, meter: report };
    } else {
      artifact = { hash, component, interfaces: inspected.interfaces, ...(await this.glued(component)) };
    }
    this.artifacts.set(hash, artifact);
    return artifact;
  }

  /** A Javy module: a WASI preview-1 command (stdin -> stdout) that imports nothing else. */
  javy(bytes: Uint8Array): Artifact {
    const hash = sha256(bytes);
    const cached = this.artifacts.get(hash);
    if (cached) return cached;
    if (!isCoreModule(bytes)) throw new SoloError("VALIDATION_FAILED", "a javy guest must be a core WebAssembly module (javy build's output), not a component");
    if (bytes.length > this.limits.maxComponentBytes) throw new SoloError("VALIDATION_FAILED", `module is ${bytes.length} bytes; the limit is ${this.limits.maxComponentBytes}`, { item: "module", limit: "maxComponentBytes" });
    let info;
    try {
      info = readModuleInfo(bytes);
    } catch (err) {
      throw new SoloError("VALIDATION_FAILED", `not a valid WebAssembly module: ${(err as Error).message}`);
    }
    for (const imp of info.imports) {
      if (imp.module !== "wasi_snapshot_preview1" || imp.kind !== "function") {
        throw new SoloError("VALIDATION_FAILED", `javy module imports "${imp.module}#${imp.name}"; it may import only WASI preview-1 functions (statically linked javy output)`, { item: `${imp.module}#${imp.name}`, limit: "imports" });
      }
    }
    for (const name of ["_start", "memory"]) {
      if (!info.exports.some((e) => e.name === name)) throw new SoloError("VALIDATION_FAILED", `javy module must export "${name}" (a WASI command)`, { item: name, limit: "exports" });
    }
    checkShape(info, this.limits);
    const { module, report } = this.metered(bytes, this.settings);
    const artifact: Artifact = { hash, component: bytes, run: { kind: "javy", module }, interfaces: ["wasi-stdio"], meter: report };
    this.artifacts.set(hash, artifact);
    return artifact;
  }

  /** A multi-module component: jco glue (shared by every component of its shape), modules metered with shared counters. */
  private async glued(component: Uint8Array): Promise<{ run: Runnable; meter: MeterReport }> {
    const shape = shapeKey(component);
    const walked = walkCoreModules(component);
    const layout = this.layouts.get(shape) ?? this.readLayout(shape) ?? (await this.makeLayout(shape, component, walked));
    this.layouts.set(shape, layout);
    const shared = { ...this.settings, sharedCounters: true };
    const modules: Record<string, WebAssembly.Module> = {};
    const sum: MeterReport = { functions: 0, leafFunctions: 0, loops: 0, chargePoints: 0, growSites: 0 };
    for (const [name, from] of Object.entries(layout.names)) {
      const bytes = typeof from === "number" ? walked[from] : new Uint8Array(readFileSync(join(layout.dir, from)));
      if (!bytes) throw new SoloError("VALIDATION_FAILED", `the component has no core module ${from} where its shape needs one`);
      checkShape(readModuleInfo(bytes), this.limits);
      const m = this.metered(bytes, shared);
      modules[name] = m.module;
      for (const k of Object.keys(sum) as (keyof MeterReport)[]) sum[k] += m.report[k];
    }
    return { run: { kind: "glue", glueUrl: pathToFileURL(join(layout.dir, `${GLUE_NAME}.js`)).href, modules }, meter: sum };
  }

  /**
   * Transpiles once per shape (~0.4-0.8 s) and records where each module the glue asks for comes
   * from: an index into the component's own core modules, or a module jco made (kept on disk).
   */
  private async makeLayout(shape: string, component: Uint8Array, walked: Uint8Array[]): Promise<Layout> {
    const t = await transpileComponent(component);
    const index = new Map(walked.map((m, i) => [sha256(m), i]));
    const dir = join(this.glueDir, shape);
    mkdirSync(dir, { recursive: true });
    const names: Record<string, number | string> = {};
    for (const [name, bytes] of Object.entries(t.modules)) {
      const i = index.get(sha256(bytes));
      if (i !== undefined) names[name] = i;
      else {
        writeAtomic(join(dir, name), bytes);
        names[name] = name;
      }
    }
    // jco's output is an ES module; Node needs a package.json to load it as one.
    writeAtomic(join(dir, "package.json"), '{"type":"module"}\n');
    writeAtomic(join(dir, `${GLUE_NAME}.js`), t.glue);
    writeAtomic(join(dir, "layout.json"), JSON.stringify(names)); // last: its presence means complete
    return { dir, names };
  }

  private readLayout(shape: string): Layout | undefined {
    const dir = join(this.glueDir, shape);
    try {
      return { dir, names: JSON.parse(readFileSync(join(dir, "layout.json"), "utf8")) as Record<string, number | string> };
    } catch {
      return undefined;
    }
  }

  /** Meters a core module (cached on disk by content hash and settings) and compiles it. */
  private metered(module: Uint8Array, settings: MeterSettings): { module: WebAssembly.Module; report: MeterReport; key: string } {
    const key = sha256(module, METER_VERSION, JSON.stringify(settings, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
    let bytes: Uint8Array<ArrayBuffer> | undefined = this.readDisk("metered", key);
    let report = bytes && this.readReport(key);
    if (bytes && report) this.counters.meterHits++;
    else {
      const out = meter(module, settings);
      this.counters.meters++;
      bytes = out.bytes;
      report = out.report;
      // The report goes first: a metered module on disk always has its report beside it.
      if (this.dir) writeAtomic(join(this.dir, "metered", `${key}.json`), JSON.stringify(report));
      this.writeDisk("metered", key, bytes);
    }
    return { module: compileModule(bytes), report, key };
  }

  private readReport(key: string): MeterReport | undefined {
    if (!this.dir) return undefined;
    try {
      return JSON.parse(readFileSync(join(this.dir, "metered", `${key}.json`), "utf8")) as MeterReport;
    } catch {
      return undefined; // missing or unreadable: meter again
    }
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
    if (this.dir) writeAtomic(join(this.dir, kind, `${key}.wasm`), bytes);
  }
}

/** Several processes may share a cache directory: a reader never sees half a file. */
let tmpCounter = 0;
function writeAtomic(path: string, data: Uint8Array | string) {
  const tmp = `${path}.${process.pid}.${tmpCounter++}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

function compileModule(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes);
  } catch (err) {
    throw new SoloError("VALIDATION_FAILED", `guest module does not validate: ${(err as Error).message}`);
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
