// What a source built, remembered on disk so that a host can take a known source without the
// builder process. Starting the builder (a Node process that loads the compilers) costs ~1 s and
// ~1.5 s of CPU; a deploy of a source built before (by this host, an earlier run, or another host
// sharing the cache directory) needs only files the builder already wrote: the component, its
// metered modules and, for QuickJS guests, the glue. The builder writes one index per source job
// (`built/<key>.json`: names and hashes of those files, the validation warnings); the host reads it
// and the files it names, checks the component against its hash, and falls back to the builder
// when anything is missing or does not match.
//
// The key covers everything a job's answer depends on: the compile key (language, source, SDK,
// compiler flags), the file name (it is in the diagnostics), the size limit, and the metering
// version. Source jobs and component jobs (a stored service's component at recovery; keyed by the
// component's hash and whether its glue is trusted) are remembered; javy modules are always built.
import { existsSync } from "node:fs";
import { readFile, rename, writeFile, mkdir } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { METER_VERSION, type BuiltArtifact, type MeterReport, type LifecycleExport } from "../wasm/index.ts";
import { sha256 } from "../wasm/hash.ts";
import type { Finding } from "../validate/index.ts";
import type { BuildJob, BuildOutput } from "./protocol.ts";

type SourceJob = Extract<BuildJob, { op: "source" }>;
type ComponentJob = Extract<BuildJob, { op: "component" }>;
/** The jobs whose answers are remembered: a source, or a stored component at recovery. */
export type IndexedJob = SourceJob | ComponentJob;

interface BuiltIndex {
  hash: string;
  kind: BuiltArtifact["kind"];
  encoding: BuiltArtifact["encoding"];
  interfaces: string[];
  lifecycle: LifecycleExport[];
  meter: MeterReport;
  glueUrl?: string;
  /** A glue artifact's bundle map (BuiltArtifact.sourceMap). */
  sourceMap?: string;
  /** "component" only: the plan of its graph. */
  plan?: BuiltArtifact["plan"];
  /** The component's file: components/<component>.wasm, or for javy the module's. */
  component: string;
  /** Metered module name -> its key (metered/<key>.wasm). */
  modules: Record<string, string>;
  warnings: Finding[];
}

export function indexKey(job: IndexedJob): string {
  if (job.op === "component") return sha256("built-index-2", METER_VERSION, "component", sha256(job.bytes), job.trustGlue ? "trusted" : "");
  return sha256("built-index-2", METER_VERSION, job.key, job.file, String(job.maxSourceBytes), job.compiler ?? "");
}

/** The builder's side: remembers what a source job answered (best effort: a failed write only costs a later build). */
export async function rememberBuilt(dir: string, job: IndexedJob, out: BuildOutput, componentKey: string): Promise<void> {
  const a = out.artifact;
  const index: BuiltIndex = {
    hash: a.hash, kind: a.kind, encoding: a.encoding, interfaces: a.interfaces, lifecycle: a.lifecycle, meter: a.meter,
    ...(a.glueUrl ? { glueUrl: a.glueUrl } : {}), ...(a.sourceMap ? { sourceMap: a.sourceMap } : {}), ...(a.plan ? { plan: a.plan } : {}), component: componentKey,
    modules: Object.fromEntries(Object.entries(a.modules).map(([name, m]) => [name, m.key])), warnings: out.warnings,
  };
  try {
    await mkdir(join(dir, "built"), { recursive: true });
    const path = join(dir, "built", `${indexKey(job)}.json`);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(tmp, JSON.stringify(index));
    await rename(tmp, path);
  } catch {
    // Nothing depends on it.
  }
}

/** The host's side: what the job would answer, from disk, or undefined (then the builder runs it). */
export async function recallBuilt(dir: string, job: IndexedJob): Promise<BuildOutput | undefined> {
  try {
    const index = JSON.parse(await readFile(join(dir, "built", `${indexKey(job)}.json`), "utf8")) as BuiltIndex;
    // A component job brings its bytes (its key is their hash); a source job's component is the
    // one the builder cached, and must be the one the index names (else it is rebuilt).
    const component = job.op === "component" ? job.bytes : new Uint8Array(await readFile(join(dir, "components", `${index.component}.wasm`)));
    if (job.op === "source" && sha256(component) !== index.hash) return undefined;
    const modules: BuiltArtifact["modules"] = {};
    for (const [name, key] of Object.entries(index.modules)) {
      const bytes = new Uint8Array(await readFile(join(dir, "metered", `${key}.wasm`)));
      modules[name] = { key, bytes };
    }
    // Glue runs as host code: only a file the builder wrote under this cache's glue folder.
    if (index.glueUrl) {
      const glue = fileURLToPath(index.glueUrl);
      if (!glue.startsWith(resolve(dir, "glue") + sep) || !existsSync(glue)) return undefined;
    }
    const artifact: BuiltArtifact = {
      hash: index.hash, component, kind: index.kind, encoding: index.encoding, interfaces: index.interfaces, lifecycle: index.lifecycle,
      meter: index.meter, modules, ...(index.glueUrl ? { glueUrl: index.glueUrl } : {}), ...(typeof index.sourceMap === "string" ? { sourceMap: index.sourceMap } : {}), ...(index.plan ? { plan: index.plan } : {}),
    };
    if (index.kind === "component" && !index.plan) return undefined;
    return { artifact, warnings: index.warnings, counters: { compiles: 0, compileHits: 1, meters: 0, meterHits: Object.keys(modules).length } };
  } catch {
    return undefined;
  }
}
