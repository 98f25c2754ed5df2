// The host's artifacts: what the builder process built, as Modules the workers run. The host
// keeps only memory maps (the disk caches are the builder's) and compiles metered bytes with the
// async WebAssembly.compile, once per metered key: the 1.3 MB QuickJS interpreter module that
// every TypeScript guest shares is compiled once per host.
//
// A repeat deploy of a known source costs one hash of the source and a map lookup; anything new
// is one job on the builder.
import { SoloError } from "../errors.ts";
// compile/key.ts, not the folder's index: `solo run` bundles what it imports, and the index reaches the compilers.
import { compileKey } from "../compile/key.ts";
import { requireTyped, type Finding, type TypeCheckMode, type ValidationReport } from "../validate/index.ts";
import type { ArtifactCounters, ComponentPlan, LifecycleExport, MeterReport, MeteredModule } from "../wasm/index.ts";
import type { Builder } from "./builder.ts";
import { recallBuilt } from "./built-index.ts";
import type { BuildJob, BuildOutput, SourceLanguage } from "./protocol.ts";

/** How a worker runs an artifact. Modules are compiled once here and posted, never recompiled. */
export type Runnable = (
  /** lifecycle: the optional exports the component declares, for SandboxOptions.lifecycle. */
  | { kind: "core"; module: WebAssembly.Module; encoding: "utf8" | "utf16"; lifecycle: LifecycleExport[] }
  /** Several core modules Solo wires itself: modules[i] is the plan's module i. sourceMap: the bundle's map, for a thrown error's stack (wasm/source-map.ts). */
  | { kind: "component"; plan: ComponentPlan; modules: WebAssembly.Module[]; sourceMap?: string }
  /** sourceMap: the bundle's map, for a thrown error's stack (wasm/source-map.ts). */
  | { kind: "glue"; glueUrl: string; modules: Record<string, WebAssembly.Module>; sourceMap?: string }
  | { kind: "javy"; module: WebAssembly.Module }
) & {
  /** The artifact's hash, so a worker keeps one copy of the spec for all the services that run it. */
  hash?: string;
};

export interface Artifact {
  /** sha256 of the component bytes. */
  hash: string;
  component: Uint8Array;
  run: Runnable;
  interfaces: string[];
  /** The optional exports the guest has ("health", "migrate"), sorted; [] when none. */
  lifecycle: LifecycleExport[];
  /** What metering instrumented, summed over the artifact's modules. */
  meter: MeterReport;
}

export interface SourceRequest {
  language: SourceLanguage;
  source: string;
  file: string;
  maxSourceBytes: number;
  compiler?: "quickjs" | "javy";
  /** The service's setting; "error" here or in the store's default makes type findings refuse the deploy. */
  typeCheck?: TypeCheckMode;
}

interface Known {
  artifact: Artifact;
  warnings: Finding[];
}

export class ArtifactStore {
  readonly counters: ArtifactCounters = { compiles: 0, compileHits: 0, meters: 0, meterHits: 0 };
  /** Compile key -> what its source built (with the validation warnings it had). */
  private readonly bySource = new Map<string, Known>();
  private readonly byHash = new Map<string, Artifact>();
  private readonly modules = new Map<string, Promise<WebAssembly.Module>>();
  /** Builds under way, so that concurrent deploys of one new source share one job. */
  private readonly inflight = new Map<string, Promise<Known>>();

  /** cacheDir: the builder's cache directory, where a known source's build is read back (built-index.ts). */
  constructor(
    private readonly builder: Builder,
    private readonly cacheDir?: string,
    /** A job answered from the built index (telemetry counts it as a build with outcome "cached"). */
    private readonly onRecall?: (seconds: number) => void,
    /** The host's typeCheck setting (HostOptions.typeCheck, SOLO_TYPECHECK). */
    private readonly typeCheck: TypeCheckMode = "warning",
  ) {}

  get typeCheckMode(): TypeCheckMode {
    return this.typeCheck;
  }

  /** Host.validate: the source rules and the type check, in the builder (nothing is built or cached). */
  check(req: { language: SourceRequest["language"]; source: string | Uint8Array; file: string; maxSourceBytes: number; typeCheck: TypeCheckMode }): Promise<ValidationReport> {
    return this.builder.run({ op: "check", ...req }, { op: "check", language: req.language, file: req.file });
  }

  /** The built index first (built-index.ts); undefined when the builder must run the job. */
  private async recall(job: BuildJob & { op: "source" | "component" }): Promise<BuildOutput | undefined> {
    if (!this.cacheDir) return undefined;
    const started = performance.now();
    const hit = await recallBuilt(this.cacheDir, job);
    if (hit) this.onRecall?.((performance.now() - started) / 1000);
    return hit;
  }

  /** Source -> artifact and validation warnings; everything new happens in the builder. */
  async fromSource(req: SourceRequest): Promise<Known> {
    const typeCheck = req.typeCheck === "error" || this.typeCheck === "error" ? "error" : "warning";
    const known = await this.built({ ...req, typeCheck });
    // A build made under "warning" keeps its type findings: under "error" they refuse it.
    requireTyped(known.warnings, typeCheck);
    return known;
  }

  private async built(req: SourceRequest & { typeCheck: TypeCheckMode }): Promise<Known> {
    // No source this long fits (a UTF-16 unit is at least one UTF-8 byte): refuse it before
    // it is hashed or sent anywhere.
    if (req.source.length > req.maxSourceBytes) {
      const message = `source is more than ${req.maxSourceBytes} bytes; limits.maxSourceBytes is ${req.maxSourceBytes}`;
      throw new SoloError("VALIDATION_FAILED", `source breaks rule source-size at 1:1: ${message}`, { findings: [{ rule: "source-size", severity: "error", line: 1, column: 1, message }] });
    }
    const key = compileKey(req.language, req.compiler === "javy" ? `javy\0${req.source}` : req.source);
    const known = this.bySource.get(key);
    if (known) {
      this.counters.compileHits++;
      return known;
    }
    // Diagnostics name the file, and the size rule the limit: only identical requests share a build.
    const flight = `${key}\0${req.file}\0${req.maxSourceBytes}\0${req.typeCheck}`;
    let pending = this.inflight.get(flight);
    if (!pending) {
      const job: BuildJob = { op: "source", language: req.language, source: req.source, file: req.file, key, maxSourceBytes: req.maxSourceBytes, ...(req.compiler && { compiler: req.compiler }), typeCheck: req.typeCheck };
      pending = this.recall(job).then((hit) => hit ?? this.builder.run(job, { op: "source", language: req.language, file: req.file })).then(async (out) => {
        const built = { artifact: await this.adopt(out), warnings: out.warnings };
        this.bySource.set(key, built);
        return built;
      });
      this.inflight.set(flight, pending);
      pending.finally(() => this.inflight.delete(flight)).catch(() => {});
    }
    return pending;
  }

  /**
   * Component bytes -> artifact. trustGlue: Solo built this component from source (a deploy of
   * TypeScript or JavaScript, or its stored artifact at recovery), so it may run through jco glue.
   */
  async fromComponent(bytes: Uint8Array, trustGlue: boolean, file = "component.wasm"): Promise<Artifact> {
    const job = { op: "component" as const, bytes, trustGlue };
    // Checked before: read back (recovery after a restart needs no builder process).
    const hit = await this.recall(job);
    return this.adopt(hit ?? (await this.builder.run(job, { op: "component", file })));
  }

  /** Javy module bytes -> artifact. */
  async fromJavy(bytes: Uint8Array, file = "module.wasm"): Promise<Artifact> {
    return this.adopt(await this.builder.run({ op: "javy", bytes }, { op: "javy", file }));
  }

  /** Takes the builder's plain data in: counts it, compiles its modules (each key once). */
  private async adopt(out: BuildOutput): Promise<Artifact> {
    for (const k of Object.keys(this.counters) as (keyof ArtifactCounters)[]) this.counters[k] += out.counters[k];
    const b = out.artifact;
    const known = this.byHash.get(b.hash);
    if (known) return known;
    const names = Object.keys(b.modules);
    const compiled = await Promise.all(names.map((name) => this.module(b.modules[name]!)));
    const byName = Object.fromEntries(names.map((name, i) => [name, compiled[i]!]));
    const hash = b.hash;
    const run: Runnable = b.kind === "core" ? { kind: "core", module: byName.core!, encoding: b.encoding, lifecycle: b.lifecycle, hash }
      : b.kind === "javy" ? { kind: "javy", module: byName.javy!, hash }
      : b.kind === "component" ? { kind: "component", plan: b.plan!, modules: names.map((_, i) => byName[String(i)]!), ...(b.sourceMap && { sourceMap: b.sourceMap }), hash }
      : { kind: "glue", glueUrl: b.glueUrl!, modules: byName, ...(b.sourceMap && { sourceMap: b.sourceMap }), hash };
    const artifact: Artifact = { hash: b.hash, component: b.component, run, interfaces: b.interfaces, lifecycle: b.lifecycle, meter: b.meter };
    this.byHash.set(b.hash, artifact);
    return artifact;
  }

  private module(m: MeteredModule): Promise<WebAssembly.Module> {
    let pending = this.modules.get(m.key);
    if (!pending) {
      pending = WebAssembly.compile(m.bytes as Uint8Array<ArrayBuffer>).catch((err: Error) => {
        this.modules.delete(m.key);
        throw new SoloError("VALIDATION_FAILED", `guest module does not validate: ${err.message}`);
      });
      this.modules.set(m.key, pending);
    }
    return pending;
  }
}
