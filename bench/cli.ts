// How long the `solo` command takes to start and answer, as a user runs it (bin/solo.mjs in a
// fresh process each time), against `node -e 0` on the same machine at the same time: the
// ratios say what Solo adds over Node's own start, whatever the machine's load.
//
//   --version, validate of a small file, run of a known guest (warm: its build is in the cache
//   dir; cold: a fresh cache dir, so the builder compiles it), run of a TypeScript guest warm.
// Each figure is the median of several runs, in seconds. The last line is JSON with each figure,
// its ratio and the goals (validate <= 0.3 s, run warm <= 0.5 s).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { median, round, scaled } from "./common.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOLO = join(ROOT, "bin", "solo.mjs");
const RUNS = Number(process.env.SOLO_BENCH_RUNS ?? scaled(9, 5));
const AS = join(ROOT, "examples", "echo.as.ts");
const TS = join(ROOT, "examples", "echo.ts");

/** Seconds one process takes from spawn to exit; it must exit 0. */
function once(args: string[], env: Record<string, string> = {}): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return seconds;
}

/**
 * The median of `runs` timings of each command, interleaved with the baseline so that a change
 * in the machine's load falls on both.
 */
function measure(commands: Record<string, () => number>, runs = RUNS): Record<string, number> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) for (const [name, run] of Object.entries(commands)) times[name]!.push(run());
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

const warmCache = mkdtempSync(join(tmpdir(), "solo-bench-cli-"));
const cold: string[] = [];
try {
  const xdg = { XDG_CACHE_HOME: warmCache };
  // Once each first: the CLI's own bundle is made if a source changed, and the guests are built.
  once([SOLO, "--version"]);
  once([SOLO, "run", AS, "--input", "hi"], xdg);
  once([SOLO, "run", TS, "--input", "hi"], xdg);

  const m = measure({
    node: () => once(["-e", "0"]),
    version: () => once([SOLO, "--version"]),
    help: () => once([SOLO, "--help"]),
    validate: () => once([SOLO, "validate", AS]),
    runWarm: () => once([SOLO, "run", AS, "--input", "hi"], xdg),
    runWarmTs: () => once([SOLO, "run", TS, "--input", "hi"], xdg),
    validateFromSource: () => once([SOLO, "validate", AS], { SOLO_NO_PREBUILT: "1" }),
  });
  // Cold: a fresh cache dir each time, so asc runs in the builder process (a few seconds).
  const c = measure({
    node: () => once(["-e", "0"]),
    runCold: () => {
      const dir = mkdtempSync(join(tmpdir(), "solo-bench-cli-cold-"));
      cold.push(dir);
      return once([SOLO, "run", AS, "--input", "hi"], { XDG_CACHE_HOME: dir });
    },
  }, 3);

  const figures: Record<string, number> = { ...m, runCold: c.runCold! };
  const ratio = (k: string) => round(figures[k]! / m.node!, 2);
  console.log(`node -e 0                 ${m.node!.toFixed(3)} s`);
  for (const k of ["version", "help", "validate", "validateFromSource", "runWarm", "runWarmTs", "runCold"] as const) {
    console.log(`${k.padEnd(25)} ${figures[k]!.toFixed(3)} s   x${ratio(k)} node -e 0`);
  }
  console.log(JSON.stringify({
    bench: "cli",
    runs: RUNS,
    nodeS: round(m.node!),
    versionS: round(m.version!),
    helpS: round(m.help!),
    validateS: round(m.validate!),
    validateFromSourceS: round(m.validateFromSource!),
    runWarmS: round(m.runWarm!),
    runWarmTypeScriptS: round(m.runWarmTs!),
    runColdS: round(c.runCold!),
    ratio: { version: ratio("version"), help: ratio("help"), validate: ratio("validate"), validateFromSource: ratio("validateFromSource"), runWarm: ratio("runWarm"), runWarmTypeScript: ratio("runWarmTs"), runCold: ratio("runCold") },
    goal: { validateS: 0.3, runWarmS: 0.5 },
    met: { validate: m.validate! <= 0.3, runWarm: m.runWarm! <= 0.5 },
  }));
} finally {
  rmSync(warmCache, { recursive: true, force: true });
  for (const dir of cold) rmSync(dir, { recursive: true, force: true });
}
