// The fuzz campaigns a child process can run (child.ts), each against a real Host on a temp dir.
// Each returns plain data for the summary line; `ok` says whether its properties held.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { fuzzDeploys } from "./deploy-campaign.ts";
import { fuzzSources } from "./source-campaign.ts";
import { buildSeeds } from "./seeds.ts";

export interface Campaign {
  /** Cases by default: sized so a campaign takes well under a minute on a 2-core machine. */
  runs: number;
  run(options: { seed: number; runs: number }): Promise<Record<string, unknown> & { ok: boolean }>;
}

/** A host on a fresh directory whose artifact cache is its own (mutants must not fill the shared one). */
export async function fuzzHost(workers = 1): Promise<{ host: Host; close(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-fuzz-"));
  // Builds stop well inside the case bound, so a slow compile is the host's answer, not a hang.
  const host = await Host.open({ dataDir, workers, buildTimeoutMs: 20_000 });
  return {
    host,
    async close() {
      await host.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The well-behaved neighbour: deployed first, asked again after the fuzz. */
async function neighbour(host: Host, bytes: Uint8Array): Promise<() => Promise<boolean>> {
  await host.deploy({ tenant: "good", service: "echo", source: bytes, language: "component" });
  const ask = async () => (await host.call("good", "echo", "still here?")).output === "still here?";
  if (!(await ask())) throw new Error("the neighbour did not answer before the fuzz");
  return ask;
}

const mode = () => (process.env.FUZZ_MODE === "count" ? "count" : "assert");

export const CAMPAIGNS: Record<string, Campaign> = {
  deploys: {
    runs: 1200,
    async run({ seed, runs }) {
      const seeds = await buildSeeds();
      const h = await fuzzHost(1);
      try {
        const ask = await neighbour(h.host, seeds.find((s) => s.name === "echo-component")!.bytes);
        const started = Date.now();
        const out = await fuzzDeploys(h.host, seeds, { seed, runs, mode: mode() });
        const neighbourAnswers = await ask();
        return { ok: !out.error && neighbourAnswers, ...out, neighbourAnswers, ms: Date.now() - started, workerRestarts: h.host.stats().workerRestarts };
      } finally {
        await h.close();
      }
    },
  },
  sources: {
    runs: 150,
    async run({ seed, runs }) {
      const seeds = await buildSeeds({ assemblyscript: false });
      const h = await fuzzHost(1);
      try {
        const ask = await neighbour(h.host, seeds.find((s) => s.name === "echo-component")!.bytes);
        const started = Date.now();
        const out = await fuzzSources(h.host, { seed, runs, maxCompiles: Number(process.env.FUZZ_COMPILES) || 3, deployFreq: 8, bigMaxBytes: Number(process.env.FUZZ_BIG_BYTES) || 1_100_000, mode: mode() });
        const neighbourAnswers = await ask();
        return { ok: !out.error && neighbourAnswers, ...out, neighbourAnswers, ms: Date.now() - started, workerRestarts: h.host.stats().workerRestarts };
      } finally {
        await h.close();
      }
    },
  },
};
