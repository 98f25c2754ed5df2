// One build job, in the builder process: source -> validated -> compiled -> inspected ->
// metered (-> jco glue), with every cache on disk exactly as a single process would keep it.
import { SoloError } from "../errors.ts";
import { compile, compileKey, compileWithJavy } from "../compile/index.ts";
import { mergeTypeFindings, requireTyped, requireValid, typeCheck, validateGuest, type Finding } from "../validate/index.ts";
import type { ArtifactCache, ArtifactCounters, BuiltArtifact } from "../wasm/index.ts";
import type { BuildJob, BuildOutput, BuildPhase, CheckOutput } from "./protocol.ts";
import type { CompileLimits } from "../compile/index.ts";

/** phase: told when the job enters and leaves the type check (a job stopped in it says so). */
/** limits: what the build itself may use (buildMemoryBytes). */
export async function runJob(cache: ArtifactCache, job: BuildJob, phase: (p: BuildPhase) => void = () => {}, limits: CompileLimits = {}): Promise<BuildOutput | CheckOutput> {
  // Host.validate: the same checks a deploy runs first, nothing built.
  if (job.op === "check") {
    if (job.language === "typescript") phase("types");
    return validateGuest({ source: job.source, language: job.language, maxSourceBytes: job.maxSourceBytes, file: job.file, typeCheck: job.typeCheck });
  }
  const before = { ...cache.counters };
  let artifact: BuiltArtifact;
  let warnings: Finding[] = [];
  switch (job.op) {
    case "component":
      artifact = await cache.artifact(job.bytes, { trustGlue: job.trustGlue });
      break;
    case "javy":
      artifact = cache.javy(job.bytes);
      break;
    case "source": {
      // Validation checks the size first (rule source-size), before anything is compiled.
      warnings = requireValid({ source: job.source, language: job.language, maxSourceBytes: job.maxSourceBytes });
      // TypeScript: the type check, before the compile (under typeCheck "error" a finding stops
      // the build here). Its findings are kept as warnings in the build's answer, which is
      // cached by the compile key (it names the checker's version), so a cached build answers
      // either setting: ArtifactStore applies "error" to it again.
      if (job.language === "typescript") {
        phase("types");
        const typed = typeCheck({ source: job.source, file: job.file });
        phase("build");
        warnings = requireTyped(mergeTypeFindings(warnings, typed), job.typeCheck);
      }
      const { language, source, file } = job;
      if (job.compiler === "javy") {
        const module = await cache.component(compileKey(language, `javy\0${source}`), () => compileWithJavy(source, file));
        artifact = cache.javy(module);
      } else {
        // Solo built this component itself, so its glue (if it has several modules) is trusted.
        artifact = await cache.artifact(await cache.component(job.key, () => compile(language, source, file, { kept: (key, make) => cache.kept(key, make), ...limits })), { trustGlue: true });
      }
      break;
    }
    default:
      throw new SoloError("INTERNAL", `unknown build job ${JSON.stringify((job as { op: unknown }).op)}`);
  }
  return { artifact, warnings, counters: delta(cache.counters, before) };
}

function delta(now: ArtifactCounters, before: ArtifactCounters): ArtifactCounters {
  return { compiles: now.compiles - before.compiles, compileHits: now.compileHits - before.compileHits, meters: now.meters - before.meters, meterHits: now.meterHits - before.meterHits };
}
