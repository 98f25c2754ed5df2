// What metrics cost on the call path: echo calls/s through Host.call with metrics (the default)
// against the same host opened with metrics: false, in 20 alternating pairs of short rounds (the
// ratio is the median of the pairs' ratios, so load from elsewhere on the machine hits both);
// Metrics.callDone alone in ns per call; and a scrape (the Prometheus text) with 1,000 tenants.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../host/index.ts";
import { Metrics } from "../host/telemetry/index.ts";
import { median, report, round } from "./common.ts";

const echo = readFileSync(new URL("../examples/echo.as.ts", import.meta.url), "utf8");
const TENANTS = ["t0", "t1", "t2", "t3"];
const dirs: string[] = [];
async function open(metrics: boolean): Promise<Host> {
  const dir = mkdtempSync(join(tmpdir(), "solo-bench-telemetry-"));
  dirs.push(dir);
  // Admission out of reach (as in calls.ts): on a busy machine it sheds the 256 in flight.
  const host = await Host.open({ dataDir: dir, admission: { targetMs: 1e9 }, ...(metrics ? {} : { metrics: false }) });
  for (const t of TENANTS) await host.deploy({ tenant: t, service: "echo", source: echo, language: "assemblyscript" });
  return host;
}

/** Calls/s with `inflight` closed loops for `ms`. */
async function load(host: Host, inflight: number, ms: number): Promise<number> {
  let done = 0;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: inflight }, async (_, i) => {
      const tenant = TENANTS[i % TENANTS.length]!;
      while (performance.now() < until) {
        await host.call(tenant, "echo", "hello");
        done++;
      }
    }),
  );
  return done / (ms / 1000);
}

const plain = await open(false);
const metered = await open(true);
try {
  await load(plain, 256, 1000);
  await load(metered, 256, 1000);
  const without: number[] = [];
  const withMetrics: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < 20; round++) {
    // Which goes first alternates too.
    const first = round % 2 === 0;
    const x = first ? await load(plain, 256, 500) : 0;
    const y = await load(metered, 256, 500);
    const z = first ? x : await load(plain, 256, 500);
    without.push(z);
    withMetrics.push(y);
    ratios.push(y / z);
  }
  const a = median(without);
  const b = median(withMetrics);
  const ratio = median(ratios);
  console.log(`256 in flight: ${Math.round(a)} calls/s without metrics, ${Math.round(b)} with; median ratio of 20 pairs ${ratio.toFixed(3)}`);

  // One call's bookkeeping alone.
  const m = new Metrics({ processMetrics: false });
  const N = 1_000_000;
  for (let i = 0; i < 100_000; i++) m.callDone(TENANTS[i & 3]!, "OK", 0.0001, 1000);
  let t = performance.now();
  for (let i = 0; i < N; i++) m.callDone(TENANTS[i & 3]!, "OK", 0.0001, 1000);
  const callDoneNs = ((performance.now() - t) * 1e6) / N;
  console.log(`Metrics.callDone: ${callDoneNs.toFixed(0)} ns per call`);

  // A scrape with 1,000 tenants having called (top 20 labelled, the rest _other).
  for (let i = 0; i < 1000; i++) m.callDone(`tenant-${i}`, i % 7 === 0 ? "NOT_FOUND" : "OK", 0.001, 1000);
  await m.text();
  t = performance.now();
  const text = await m.text();
  const scrapeMs = performance.now() - t;
  console.log(`scrape: ${scrapeMs.toFixed(2)} ms, ${text.length} bytes`);

  report({
    bench: "telemetry",
    callsPerSecWithout: Math.round(a),
    callsPerSecWith: Math.round(b),
    ratio: round(ratio),
    callDoneNs: Math.round(callDoneNs),
    scrapeMs: round(scrapeMs, 2),
    scrapeBytes: text.length,
    goal: { ratio: 0.95 },
  });
} finally {
  await plain.close();
  await metered.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
