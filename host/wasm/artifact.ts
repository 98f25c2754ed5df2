// Artifacts as the builder process makes them: checked, metered guests as plain data, cached by
// content hash on disk. The host turns the metered bytes into WebAssembly.Modules (host/build).
//
//   source --compile--> component   key: sha256(language, source, sdk+WIT, compiler version+flags)
//   component --inspect--> core module(s) --meter--> metered  key: sha256(module, meter settings)
//
// Compiling costs ~0.3-1.5 s; metering ~1-10 ms. Everything here runs in the builder process,
// never on the host's API thread.
import { checkWasiImports } from "./wasi-imports.ts";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { SoloError } from "../errors.ts";
import { checkShape, inspectComponent, type InspectLimits, DEFAULT_INSPECT_LIMITS } from "./inspect.ts";
import { readModuleInfo } from "./module-info.ts";
import { concat, isCoreModule } from "./binary.ts";
import { GLUE_NAME, transpileComponent } from "./transpile.ts";
import { shapeKey, walkCoreModules } from "./component.ts";
import { DEFAULT_METER_SETTINGS, meter, type MeterReport, type MeterSettings } from "./meter.ts";
import { sha256 } from "./hash.ts";
import type { LifecycleExport } from "./world.ts";
import { untrustedGlue } from "./glue-trust.ts";
import { SOURCE_MAP_SECTION, readCustomSection } from "./source-map.ts";

/** A bundle's map past this is not kept: it travels with every install of the service. */
const MAX_SOURCE_MAP_BYTES = 1 << 20;
import { planComponent, PlanUnsupported, type ComponentPlan } from "./component-plan.ts";
import { importMemory, importedMemoryShape, type MemoryShape } from "./import-memory.ts";
import { pruneExports, usedExports } from "./prune-exports.ts";

/** Bumped whenever the metering pass, or what the builder does to a metered module (import-memory.ts, prune-exports.ts), changes what it emits. */
export const METER_VERSION = "13";

/** A metered core module: its cache key (the host compiles each key once) and its bytes. */
export interface MeteredModule {
  key: string;
  bytes: Uint8Array;
}

/** A built artifact as plain data, fit to cross a process boundary. */
export interface BuiltArtifact {
  /** sha256 of the component bytes. */
  hash: string;
  component: Uint8Array;
  /** "component": several core modules Solo wires itself from `plan`; "glue": through jco's glue. */
  kind: "core" | "component" | "glue" | "javy";
  /** The string encoding a "core" artifact's canon lift uses. */
  encoding: "utf8" | "utf16";
  interfaces: string[];
  /** The optional exports the guest has ("health", "migrate"), sorted; [] when none (always for javy). */
  lifecycle: LifecycleExport[];
  /** What metering instrumented, summed over the artifact's modules (opaque to the host). */
  meter: MeterReport;
  /** Metered modules by the name the runtime asks for: "core" / "javy", the plan's indices ("0", "1" ...), or the glue's names. */
  modules: Record<string, MeteredModule>;
  /** "component" only: how its core modules are instantiated and wired (plain data). */
  plan?: ComponentPlan;
  /** "glue" only: the jco glue module, a file URL the worker imports. */
  glueUrl?: string;
  /**
   * "glue" and "component": the QuickJS bundle's source map, from the component's SOURCE_MAP_SECTION (JSON).
   * A "core" module keeps its map inside (the worker reads it from the Module).
   */
  sourceMap?: string;
}

export interface ArtifactCounters {
  compiles: number;
  compileHits: number;
  meters: number;
  meterHits: number;
}

export type Compiler = () => Promise<Uint8Array>;

/** Where the glue of one component shape lives, and where each module it asks for comes from. */
interface Layout {
  dir: string;
  /** Module name -> index in walkCoreModules(component), or a file in `dir` that jco made. */
  names: Record<string, number | string>;
}

export class ArtifactCache {
  readonly counters: ArtifactCounters = { compiles: 0, compileHits: 0, meters: 0, meterHits: 0 };
  /** Without a directory, components and metered modules are kept here instead. */
  private readonly memory = new Map<string, Uint8Array>();
  private readonly reports = new Map<string, MeterReport>();
  private readonly layouts = new Map<string, Layout>();
  /** jco glue is loaded with import(), so it must be a file even when nothing else is on disk. */
  private readonly glueDir: string;

  /** dir: where components and metered modules are kept; undefined keeps them in memory only. */
  constructor(
    private readonly dir: string | undefined,
    private readonly settings: MeterSettings = DEFAULT_METER_SETTINGS,
    private readonly limits: InspectLimits = DEFAULT_INSPECT_LIMITS,
  ) {
    if (dir) {
      mkdirSync(join(dir, "components"), { recursive: true });
      mkdirSync(join(dir, "metered"), { recursive: true });
      mkdirSync(join(dir, "loaders"), { recursive: true });
    }
    this.glueDir = join(dir ?? join(tmpdir(), "solo-glue"), "glue");
  }

  /** Returns the component for a compile key, compiling only when no cache has it. */
  async component(key: string, compile: Compiler): Promise<Uint8Array> {
    const hit = this.read("components", key);
    if (hit) {
      this.counters.compileHits++;
      return hit;
    }
    const bytes = await compile();
    this.counters.compiles++;
    this.write("components", key, bytes);
    return bytes;
  }

  /**
   * Bytes a build keeps for the next (the QuickJS loader and its metered modules,
   * compile/quickjs-snapshot.ts), by a key naming what made them; not counted as compiles or meters.
   * Each file starts with the SHA-256 of the rest: one a disk damaged is made again, not trusted.
   */
  async kept(key: string, make: () => Uint8Array | Promise<Uint8Array>): Promise<Uint8Array> {
    const hit = this.read("loaders", key);
    if (hit && hit.length >= 32) {
      const bytes = hit.subarray(32);
      if (Buffer.from(createHash("sha256").update(bytes).digest()).equals(Buffer.from(hit.subarray(0, 32)))) return bytes;
    }
    const bytes = await make();
    this.write("loaders", key, concat([createHash("sha256").update(bytes).digest(), bytes]));
    return bytes;
  }

  /**
   * Inspects and meters a component. A multi-module one runs from Solo's own plan of its graph
   * ("component"); one whose graph the plan does not cover needs jco's glue ("glue"), accepted
   * only when trustGlue says Solo built it from source: the glue runs as host code.
   */
  async artifact(component: Uint8Array, options: { trustGlue: boolean }): Promise<BuiltArtifact> {
    const hash = sha256(component);
    const inspected = inspectComponent(component, this.limits);
    if (inspected.kind === "core") {
      const { key, bytes, report } = this.metered(inspected.module, this.settings);
      return { hash, component, kind: "core", encoding: inspected.stringEncoding, interfaces: inspected.interfaces, lifecycle: inspected.lifecycle, meter: report, modules: { core: { key, bytes } } };
    }
    // A QuickJS bundle's source map rides in the component (SOURCE_MAP_SECTION).
    const map = readCustomSection(component, SOURCE_MAP_SECTION);
    const sourceMap = map && map.length <= MAX_SOURCE_MAP_BYTES ? new TextDecoder().decode(map) : undefined;
    const walked = walkCoreModules(component);
    let plan: ComponentPlan;
    try {
      plan = planComponent(component, walked);
    } catch (err) {
      if (!(err instanceof PlanUnsupported)) throw err;
      if (!options.trustGlue) throw untrustedGlue(err.message);
      return { hash, component, kind: "glue", encoding: "utf8", interfaces: inspected.interfaces, lifecycle: inspected.lifecycle, ...(await this.glued(component)), ...(sourceMap && { sourceMap }) };
    }
    const lifecycle = inspected.lifecycle.filter((name) => plan[name]);
    // Solo instantiates these modules itself: each memory a module defines becomes an import the
    // worker fills from its pool of touched memories (import-memory.ts), and the exports the plan
    // never reads are dropped (prune-exports.ts: each costs every instantiation a function object).
    const used = usedExports(plan, walked);
    const metered = this.sharedMetered(walked.map((bytes, i) => [String(i), bytes]), true, used);
    const memories: Record<number, MemoryShape> = {};
    for (const [name, m] of Object.entries(metered.modules)) {
      const shape = importedMemoryShape(m.bytes);
      if (shape) memories[Number(name)] = shape;
    }
    if (Object.keys(memories).length > 0) plan.memories = memories;
    return { hash, component, kind: "component", encoding: plan.handle.encoding, interfaces: inspected.interfaces, lifecycle, plan, ...metered, ...(sourceMap && { sourceMap }) };
  }

  /** A Javy module: a WASI preview-1 command (stdin -> stdout) that imports nothing else. */
  javy(bytes: Uint8Array): BuiltArtifact {
    if (!isCoreModule(bytes)) throw new SoloError("VALIDATION_FAILED", "a javy guest must be a core WebAssembly module (javy build's output), not a component");
    if (bytes.length > this.limits.maxComponentBytes) throw new SoloError("VALIDATION_FAILED", `module is ${bytes.length} bytes; the limit is ${this.limits.maxComponentBytes}`, { item: "module", limit: "maxComponentBytes" });
    let info;
    try {
      info = readModuleInfo(bytes);
    } catch (err) {
      throw new SoloError("VALIDATION_FAILED", `not a valid WebAssembly module: ${(err as Error).message}`);
    }
    checkWasiImports(info);
    for (const name of ["_start", "memory"]) {
      if (!info.exports.some((e) => e.name === name)) throw new SoloError("VALIDATION_FAILED", `javy module must export "${name}" (a WASI command)`, { item: name, limit: "exports" });
    }
    checkShape(info, this.limits);
    const { key, bytes: metered, report } = this.metered(bytes, this.settings);
    return { hash: sha256(bytes), component: bytes, kind: "javy", encoding: "utf8", interfaces: ["wasi-stdio"], lifecycle: [], meter: report, modules: { javy: { key, bytes: metered } } };
  }

  /** A multi-module component: jco glue (shared by every component of its shape), modules metered with shared counters. */
  private async glued(component: Uint8Array): Promise<{ modules: Record<string, MeteredModule>; meter: MeterReport; glueUrl: string }> {
    const shape = shapeKey(component);
    const walked = walkCoreModules(component);
    const layout = this.layouts.get(shape) ?? this.readLayout(shape) ?? (await this.makeLayout(shape, component, walked));
    this.layouts.set(shape, layout);
    const named: [string, Uint8Array][] = Object.entries(layout.names).map(([name, from]) => {
      const bytes = typeof from === "number" ? walked[from] : new Uint8Array(readFileSync(join(layout.dir, from)));
      if (!bytes) throw new SoloError("VALIDATION_FAILED", `the component has no core module ${from} where its shape needs one`);
      return [name, bytes];
    });
    return { ...this.sharedMetered(named), glueUrl: pathToFileURL(join(layout.dir, `${GLUE_NAME}.js`)).href };
  }

  /** Checks and meters the modules of one component with shared counters; the report sums theirs. */
  /** keep: for a plan's modules (by position in `named`), the exports the plan reads; the rest are dropped. */
  private sharedMetered(named: [string, Uint8Array][], memoryImported = false, keep?: readonly ReadonlySet<string>[]): { modules: Record<string, MeteredModule>; meter: MeterReport } {
    const shared = { ...this.settings, sharedCounters: true };
    const modules: Record<string, MeteredModule> = {};
    const sum: Record<string, unknown> = {};
    for (const [i, [name, bytes]] of named.entries()) {
      checkShape(readModuleInfo(bytes), this.limits);
      const m = this.metered(bytes, shared, memoryImported, keep?.[i]);
      modules[name] = { key: m.key, bytes: m.bytes };
      // The report's fields belong to the meter; numbers add up, whatever they are.
      for (const [k, v] of Object.entries(m.report)) if (typeof v === "number") sum[k] = ((sum[k] as number | undefined) ?? 0) + v;
    }
    return { modules, meter: sum as unknown as MeterReport };
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

  /**
   * Meters a core module, cached by content hash and settings; memoryImported: its own memory then
   * becomes an import; keep: its function and global exports past these (and the meter's) are dropped.
   */
  private metered(module: Uint8Array, settings: MeterSettings, memoryImported = false, keep?: ReadonlySet<string>): { key: string; bytes: Uint8Array; report: MeterReport } {
    const kept = keep ? `keep:${JSON.stringify([...keep].sort())}` : "";
    const key = sha256(module, METER_VERSION, JSON.stringify(settings, (_k, v) => (typeof v === "bigint" ? v.toString() : v)), memoryImported ? "memory-imported" : "", kept);
    const cached = this.read("metered", key);
    const cachedReport = cached && this.readReport(key);
    if (cached && cachedReport) {
      this.counters.meterHits++;
      return { key, bytes: cached, report: cachedReport };
    }
    const out = meter(module, settings);
    const { report } = out;
    const imported = (memoryImported && importMemory(out.bytes)?.bytes) || out.bytes;
    const bytes = (keep && pruneExports(imported, keep)?.bytes) || imported;
    this.counters.meters++;
    // The report goes first: a metered module on disk always has its report beside it.
    if (this.dir) writeAtomic(join(this.dir, "metered", `${key}.json`), JSON.stringify(report));
    else this.reports.set(key, report);
    this.write("metered", key, bytes);
    return { key, bytes, report };
  }

  private readReport(key: string): MeterReport | undefined {
    if (!this.dir) return this.reports.get(key);
    try {
      return JSON.parse(readFileSync(join(this.dir, "metered", `${key}.json`), "utf8")) as MeterReport;
    } catch {
      return undefined; // missing or unreadable: meter again
    }
  }

  private read(kind: string, key: string): Uint8Array | undefined {
    if (!this.dir) return this.memory.get(`${kind}/${key}`);
    try {
      return new Uint8Array(readFileSync(join(this.dir, kind, `${key}.wasm`)));
    } catch {
      return undefined;
    }
  }

  private write(kind: string, key: string, bytes: Uint8Array) {
    if (this.dir) writeAtomic(join(this.dir, kind, `${key}.wasm`), bytes);
    else this.memory.set(`${kind}/${key}`, bytes);
  }
}

/** Several processes may share a cache directory: a reader never sees half a file. */
let tmpCounter = 0;
function writeAtomic(path: string, data: Uint8Array | string) {
  const tmp = `${path}.${process.pid}.${tmpCounter++}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
