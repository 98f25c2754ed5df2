// Noisy neighbour (issue #13): B's echo latency at 200 calls/s alone and while tenant A spins at
// full rate and bombs memory (bench/noisy-neighbour-run.ts), with the host's default worker count,
// with one shared worker, and with one shared worker and placement off (isolatedWorkers: 0: A and
// B share the thread, the in-worker fair queue is all that helps). Goal: B's p99 with A within
// 1.5x of its p99 alone. Last line JSON.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host, type HostOptions } from "../host/index.ts";
import { deployNoisy, runNoisy, type NoisyFigures } from "./noisy-neighbour-run.ts";
import { report } from "./common.ts";

async function run(label: string, options: Partial<HostOptions>): Promise<NoisyFigures & { placement: unknown }> {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-bench-noisy-"));
  const host = await Host.open({ dataDir, cacheDir: join(tmpdir(), "solo-bench-artifacts"), ...options });
  try {
    await deployNoisy(host);
    const f = await runNoisy(host);
    const placement = host.stats().placement;
    process.stdout.write(`${label}: B alone p50 ${f.solo.p50Ms} ms p99 ${f.solo.p99Ms} ms; while A starts p99 ${f.starting.p99Ms} ms (max ${f.starting.maxMs}); with A p50 ${f.withA.p50Ms} ms p99 ${f.withA.p99Ms} ms; p99 ratio ${f.p99Ratio}; A ${JSON.stringify(f.aCodes)}; B failures ${f.bFailures.length}${f.bFailures.length ? ` (first: ${f.bFailures.slice(0, 3).join("; ")})` : ""}\n`);
    return { ...f, placement };
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const byDefault = await run("default workers", {});
const one = await run("workers: 1", { workers: 1 });
const off = await run("workers: 1, placement off", { workers: 1, fairness: { isolatedWorkers: 0 } });
const brief = (f: NoisyFigures) => ({ soloP99Ms: f.solo.p99Ms, withAP99Ms: f.withA.p99Ms, soloP50Ms: f.solo.p50Ms, withAP50Ms: f.withA.p50Ms, startingP99Ms: f.starting.p99Ms, startingMaxMs: f.starting.maxMs, p99Ratio: f.p99Ratio, bFailures: f.bFailures.length, aCodes: f.aCodes });
report({
  bench: "noisy-neighbour",
  p99Ratio: byDefault.p99Ratio,
  p99RatioOneWorker: one.p99Ratio,
  p99RatioOneWorkerPlacementOff: off.p99Ratio,
  goal: 1.5,
  defaultWorkers: brief(byDefault),
  oneWorker: brief(one),
  oneWorkerPlacementOff: brief(off),
});
