// Hot swap: how long calls wait while a service switches versions (the gate: in-flight calls
// finish, migrate, one synced batch, activate), and the whole swap with and without its compile,
// for AssemblyScript and TypeScript; calls lost while swapping under a steady load (goal 0); and
// how long Host.open takes to bring back 100 services. The baseline for the swap is a deploy of the
// same artifact (a fresh service, same build cache state), in the same run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../host/index.ts";
import { median, percentile, report, round } from "./common.ts";

const AS = (label: string) => `import { kv } from "solo";
export function handle(request: string): string {
  const c = kv.get("n");
  const n = (c === null ? 0 : I32.parseInt(c)) + 1;
  kv.set("n", n.toString());
  return "${label}:" + n.toString();
}
`;
const TS = (label: string) => `import { kv } from "solo";
export function handle(request: string): string {
  const n = Number(kv.get("n") ?? "0") + 1;
  kv.set("n", String(n));
  return "${label}:" + n;
}
`;

interface SwapFigures { switchP50Ms: number; switchMaxMs: number; cachedP50Ms: number; compiledP50Ms: number; deployCachedP50Ms: number; ratioSwapToDeploy: number }

async function swapLatency(host: Host, language: "assemblyscript" | "typescript", source: (l: string) => string, rounds: number): Promise<SwapFigures> {
  const tenant = language === "assemblyscript" ? "as" : "ts";
  await host.deploy({ tenant, service: "s", source: source("A"), language });
  await host.swap({ tenant, service: "s", source: source("B"), language, rollbackWindowMs: 0 }); // both cached now
  const cached: number[] = [];
  const switches: number[] = [];
  const deploys: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    const r = await host.swap({ tenant, service: "s", source: source(i % 2 ? "B" : "A"), language, rollbackWindowMs: 0 });
    cached.push(performance.now() - t0);
    switches.push(r.switchMs);
    // Baseline: a deploy of the same (cached) artifact as a new service.
    t0 = performance.now();
    await host.deploy({ tenant, service: `d${i}`, source: source(i % 2 ? "B" : "A"), language });
    deploys.push(performance.now() - t0);
  }
  const compiled: number[] = [];
  for (let i = 0; i < Math.min(5, rounds); i++) {
    const t0 = performance.now();
    await host.swap({ tenant, service: "s", source: source(`new${i}-${Date.now()}`), language, rollbackWindowMs: 0 });
    compiled.push(performance.now() - t0);
  }
  return {
    switchP50Ms: round(median(switches), 3), switchMaxMs: round(Math.max(...switches), 3),
    cachedP50Ms: round(median(cached), 2), compiledP50Ms: round(median(compiled), 1), deployCachedP50Ms: round(median(deploys), 2),
    ratioSwapToDeploy: round(median(cached) / median(deploys), 2),
  };
}

/** Swaps back and forth under ~1,000 calls/s; counts calls that failed. */
async function lostCalls(host: Host, swaps: number): Promise<{ calls: number; failed: number; swaps: number; callP99Ms: number }> {
  await host.deploy({ tenant: "load", service: "s", source: AS("A"), language: "assemblyscript" });
  let stop = false;
  let calls = 0;
  let failed = 0;
  const latencies: number[] = [];
  const pending = new Set<Promise<unknown>>();
  const load = (async () => {
    while (!stop) {
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const p = host.call("load", "s", "x").then(() => latencies.push(performance.now() - t0), () => failed++);
        calls++;
        pending.add(p);
        void p.finally(() => pending.delete(p));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  for (let i = 0; i < swaps; i++) {
    await host.swap({ tenant: "load", service: "s", source: AS(i % 2 ? "A" : "B"), language: "assemblyscript", rollbackWindowMs: 0 });
    await new Promise((r) => setTimeout(r, 20));
  }
  stop = true;
  await load;
  await Promise.all([...pending]);
  return { calls, failed, swaps, callP99Ms: round(percentile(latencies, 99), 2) };
}

/** Host.open with 100 stored services (half swapped once, so they have a history). */
async function recovery(n: number): Promise<{ services: number; openMs: number; recovered: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-bench-swap-recover-"));
  try {
    let host = await Host.open({ dataDir, workers: 2 });
    for (let i = 0; i < n; i++) {
      await host.deploy({ tenant: `t${i % 10}`, service: `s${i}`, source: AS("A"), language: "assemblyscript" });
      if (i % 2) await host.swap({ tenant: `t${i % 10}`, service: `s${i}`, source: AS("B"), language: "assemblyscript", rollbackWindowMs: 0 });
    }
    await host.close();
    const t0 = performance.now();
    host = await Host.open({ dataDir, workers: 2 });
    const openMs = performance.now() - t0;
    let recovered = 0;
    for (let i = 0; i < n; i++) if (host.status(`t${i % 10}`, `s${i}`).state === "running") recovered++;
    await host.close();
    return { services: n, openMs: round(openMs, 1), recovered };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const dataDir = mkdtempSync(join(tmpdir(), "solo-bench-swap-"));
try {
  const host = await Host.open({ dataDir, workers: 2 });
  const as = await swapLatency(host, "assemblyscript", AS, 30);
  console.log("AssemblyScript swap", as);
  const ts = await swapLatency(host, "typescript", TS, 20);
  console.log("TypeScript swap", ts);
  const lost = await lostCalls(host, 20);
  console.log("calls during 20 swaps under load", lost);
  await host.close();
  const rec = await recovery(100);
  console.log("recovery", rec);
  report({ bench: "swap", assemblyscript: as, typescript: ts, lostCalls: lost, recovery: rec });
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
