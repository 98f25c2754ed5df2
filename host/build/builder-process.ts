// The builder process's main: runs build jobs one at a time for the host that forked it (or took
// it over: an `init` names the new host's cache). Nothing a job relies on lives only here (the
// caches are on disk; what stays in memory is compilers loaded and warm, and QuickJS loaders per
// cache directory), so the host kills it freely: past a job's time or memory limit, or at close.
import { toSoloError } from "../errors.ts";
import { ArtifactCache } from "../wasm/index.ts";
import { runJob } from "./pipeline.ts";
import { rememberBuilt } from "./built-index.ts";
import { compileKey } from "../compile/index.ts";
import type { BuildOutput, FromBuilder, ToBuilder } from "./protocol.ts";

let cache: ArtifactCache | undefined;
let cacheDir: string | undefined;
let memoryBytes: number | undefined;

function send(msg: FromBuilder) {
  process.send!(msg);
}

// The host is gone (closed or crashed): nothing here outlives it.
process.on("disconnect", () => process.exit(0));

process.on("message", (msg: ToBuilder) => {
  if (msg.t === "init") {
    cache = new ArtifactCache(msg.cacheDir);
    cacheDir = msg.cacheDir;
    memoryBytes = msg.memoryBytes;
    send({ t: "ready" });
    return;
  }
  const { id, job } = msg;
  runJob(cache!, job, (phase) => send({ t: "phase", id, phase }), { memoryBytes, keptIn: cacheDir }).then(
    async (answer) => {
      // Only build jobs are remembered; a check job's answer is its report.
      const output = answer as BuildOutput;
      // What a source built is remembered, so that a host can take it later without this process.
      if (cacheDir && job.op === "source") {
        await rememberBuilt(cacheDir, job, output, job.compiler === "javy" ? compileKey(job.language, `javy\0${job.source}`) : job.key);
        // Its component as a restart reads it back (recovery: trusted glue only for TS and JS).
        const trustGlue = job.language === "typescript" || job.language === "javascript";
        if (job.compiler !== "javy") await rememberBuilt(cacheDir, { op: "component", bytes: output.artifact.component, trustGlue }, output, "");
      }
      if (cacheDir && job.op === "component") await rememberBuilt(cacheDir, job, output, "");
      send({ t: "done", id, output: answer });
    },
    (err) => send({ t: "failed", id, error: toSoloError(err).toJSON() }),
  );
});
