// Scale to zero and cached deploys: what a call that re-creates an evicted instance costs
// (AssemblyScript and TypeScript, median, beside a call on a live instance), what a deployed service
// with no live instance costs (RSS per 1,000, so deployed services per GB) beside a live instance
// (live instances per GB), and how long a deploy of an already-compiled source takes when its start
// code is proven (no instance made) beside one that instantiates.
//
// One host, one worker, in this process: RSS counts the API thread and the worker together.
// Run: node --expose-gc --import ./bin/ts-register.mjs bench/idle.ts
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../host/index.ts";
import { median, report, round, scaled } from "./common.ts";

const gc = (globalThis as { gc?: () => void }).gc;
const ECHO_AS = readFileSync(new URL("../examples/echo.as.ts", import.meta.url), "utf8");
const ECHO_TS = readFileSync(new URL("../examples/echo.ts", import.meta.url), "utf8");
const dir = mkdtempSync(join(tmpdir(), "solo-bench-idle-"));
const cacheDir = join(dir, "artifacts");
let opened = 0;
const open = (options: Partial<Parameters<typeof Host.open>[0]> = {}) => Host.open({ dataDir: join(dir, `data${opened++}`), cacheDir, workers: 1, admission: { enabled: false }, ...options });

async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  return process.memoryUsage().rss;
}

/**
 * Median latency of a call that re-creates its instance (two services, a live cap of one) and of a
 * live call. pauseMs: a quiet moment before each round (an evicted instance was idle), in which the
 * worker's memory pool makes memories ahead; 0: back to back, so the pool never gets to.
 */
async function recreation(language: "assemblyscript" | "typescript", source: string, rounds: number, pauseMs = 0): Promise<{ recreateMs: number; liveMs: number }> {
  const host = await open({ maxLiveInstances: 1, idleMs: 0 });
  try {
    for (const s of ["a", "b"]) await host.deploy({ tenant: "t", service: s, source, language });
    for (let i = 0; i < 10; i++) await host.call("t", i % 2 ? "a" : "b", "warm");
    const again: number[] = [];
    const live: number[] = [];
    for (let i = 0; i < rounds; i++) {
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      let t0 = performance.now();
      await host.call("t", i % 2 ? "a" : "b", "x"); // the other one holds the one live slot
      again.push(performance.now() - t0);
      t0 = performance.now();
      await host.call("t", i % 2 ? "a" : "b", "x"); // live now
      live.push(performance.now() - t0);
    }
    const s = host.stats().instances;
    if (s.created < rounds) throw new Error(`expected a re-creation per round, got ${s.created}`);
    return { recreateMs: median(again), liveMs: median(live) };
  } finally {
    await host.close();
  }
}

/**
 * RSS per deployed service with no live instance, then per live instance (each called once, no cap,
 * never idle). Services are deployed in two halves and the second half is measured: the first
 * fills what grows once (the event log's memtable, heap pages), so the second is the steady cost.
 */
async function footprint(language: "assemblyscript" | "typescript", source: string, n: number): Promise<{ dormantKiB: number; dormantHeapKiB: number; liveKiB: number }> {
  const host = await open({ idleMs: 0 });
  try {
    const tenants = Math.ceil((2 * n) / 1000);
    const deploy = async (from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, to - i) }, (_, k) => host.deploy({ tenant: `t${(i + k) % tenants}`, service: `s${i + k}`, source, language })));
      }
    };
    await deploy(0, n);
    const base = await settle();
    const heap0 = process.memoryUsage().heapUsed;
    await deploy(n, 2 * n);
    const deployed = await settle();
    const heap1 = process.memoryUsage().heapUsed;
    // The first 50 deploys ran together before any had proven the artifact: those have instances.
    if (host.stats().instances.live > 51) throw new Error(`expected at most the first deploys' instances live, got ${host.stats().instances.live}`);
    for (let i = n; i < 2 * n; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, 2 * n - i) }, (_, k) => host.call(`t${(i + k) % tenants}`, `s${i + k}`, "x")));
    }
    const live = await settle();
    return { dormantKiB: (deployed - base) / n / 1024, dormantHeapKiB: (heap1 - heap0) / n / 1024, liveKiB: (live - deployed) / n / 1024 };
  } finally {
    await host.close();
  }
}

/** Deploy latency of a source compiled already: proven (no instance) and proving (an instance each: new capabilities). */
async function cachedDeploys(language: "assemblyscript" | "typescript", source: string, rounds: number): Promise<{ provenMs: number; provingMs: number }> {
  const host = await open();
  try {
    await host.deploy({ tenant: "t", service: "first", source, language });
    const proven: number[] = [];
    const proving: number[] = [];
    // Each proving deploy differs in capabilities (a call:NAME of its own), so no proof covers it.
    for (let i = 0; i < rounds; i++) {
      let t0 = performance.now();
      await host.deploy({ tenant: "t", service: `p${i}`, source, language });
      proven.push(performance.now() - t0);
      t0 = performance.now();
      await host.deploy({ tenant: "t", service: `q${i}`, source, language, capabilities: ["log", "kv", `call:other${i}`] });
      proving.push(performance.now() - t0);
    }
    if (host.stats().instances.deploysWithoutStart !== rounds) throw new Error(`expected ${rounds} deploys without a start, got ${host.stats().instances.deploysWithoutStart}`);
    return { provenMs: median(proven), provingMs: median(proving) };
  } finally {
    await host.close();
  }
}

try {
  const asRe = await recreation("assemblyscript", ECHO_AS, scaled(200, 100));
  const tsRe = await recreation("typescript", ECHO_TS, scaled(60, 30));
  const tsQuiet = await recreation("typescript", ECHO_TS, scaled(60, 30), 20);
  console.log(`re-creating call (median): AssemblyScript ${asRe.recreateMs.toFixed(2)} ms (live ${asRe.liveMs.toFixed(2)}), TypeScript ${tsRe.recreateMs.toFixed(2)} ms back to back (live ${tsRe.liveMs.toFixed(2)}), ${tsQuiet.recreateMs.toFixed(2)} ms after 20 ms of quiet (live ${tsQuiet.liveMs.toFixed(2)})`);
  const asCached = await cachedDeploys("assemblyscript", ECHO_AS, scaled(20, 10));
  const tsCached = await cachedDeploys("typescript", ECHO_TS, scaled(20, 10));
  console.log(`cached deploy (median): AssemblyScript ${asCached.provenMs.toFixed(2)} ms proven, ${asCached.provingMs.toFixed(2)} ms instantiating; TypeScript ${tsCached.provenMs.toFixed(2)} ms proven, ${tsCached.provingMs.toFixed(2)} ms instantiating`);
  const asMem = await footprint("assemblyscript", ECHO_AS, scaled(5000, 1500));
  const tsMem = await footprint("typescript", ECHO_TS, scaled(1500, 500));
  const perGB = (kib: number) => Math.round((1024 * 1024) / Math.max(kib, 0.01));
  console.log(`per service without an instance: AssemblyScript ${asMem.dormantKiB.toFixed(1)} KiB (API thread heap ${asMem.dormantHeapKiB.toFixed(1)}), TypeScript ${tsMem.dormantKiB.toFixed(1)} KiB (API thread heap ${tsMem.dormantHeapKiB.toFixed(1)}); per live instance: AssemblyScript ${asMem.liveKiB.toFixed(1)} KiB, TypeScript ${tsMem.liveKiB.toFixed(1)} KiB (RSS${gc ? "" : "; run with --expose-gc for steadier figures"})`);
  report({
    bench: "idle",
    recreateAsMs: round(asRe.recreateMs, 3), liveCallAsMs: round(asRe.liveMs, 3),
    recreateJsMs: round(tsRe.recreateMs, 3), liveCallJsMs: round(tsRe.liveMs, 3),
    recreateJsAfterQuietMs: round(tsQuiet.recreateMs, 3), liveCallJsAfterQuietMs: round(tsQuiet.liveMs, 3),
    deployCachedProvenAsMs: round(asCached.provenMs, 2), deployCachedInstantiatingAsMs: round(asCached.provingMs, 2),
    deployCachedProvenJsMs: round(tsCached.provenMs, 2), deployCachedInstantiatingJsMs: round(tsCached.provingMs, 2),
    dormantKiBAs: round(asMem.dormantKiB, 1), dormantKiBJs: round(tsMem.dormantKiB, 1), dormantApiHeapKiBAs: round(asMem.dormantHeapKiB, 1),
    deployedServicesPerGBAs: perGB(asMem.dormantKiB), deployedServicesPerGBJs: perGB(tsMem.dormantKiB),
    liveKiBAs: round(asMem.liveKiB, 1), liveKiBJs: round(tsMem.liveKiB, 1),
    liveInstancesPerGBAs: perGB(asMem.liveKiB), liveInstancesPerGBJs: perGB(tsMem.liveKiB),
    goal: { recreateAsMs: 1, recreateJsMs: 2, deployCachedProvenJsMs: 10, deployedServicesPerGB: 100_000, liveInstancesPerGBJs: 4_000 },
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
