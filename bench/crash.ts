// 100 SIGKILLs of a process that appends events and commits kv under load while retention
// compacts the log to SOLO_BENCH_CRASH_KEEP events (default 500) over and over; after each,
// every acknowledged write must be on disk (or, for an event, compacted away before the
// checkpoint), ids monotonic and the chain verified. Prints the counts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashCycles } from "../test/events/crash-cycles.ts";
import { report, scaled } from "./common.ts";

const dir = mkdtempSync(join(tmpdir(), "solo-bench-crash-"));
try {
  const cycles = Number(process.env.SOLO_BENCH_CRASH_CYCLES ?? scaled(100, 20));
  const started = performance.now();
  const keep = Number(process.env.SOLO_BENCH_CRASH_KEEP ?? 500);
  const r = await crashCycles(join(dir, "db"), cycles, 600, keep);
  console.log(`${r.cycles} SIGKILL cycles: ${r.acknowledgedEvents} acknowledged events (${r.compactedEvents} compacted by retention), ${r.acknowledgedKv} kv commits; lost ${r.lostEvents} + ${r.lostKv}; out of order ${r.outOfOrder}; chain failures ${r.chainFailures}`);
  report({ bench: "crash", ...r, seconds: Math.round((performance.now() - started) / 1000) });
  if (r.lostEvents || r.lostKv || r.outOfOrder || r.chainFailures) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
