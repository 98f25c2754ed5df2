// Echo through the Host API: one call at a time (round trip through a worker) and many calls in
// flight (throughput with batched crossings). Real host, real workers, a temp data directory.
//
// --channel ring|message|both (default both): which call channel (runtime/call-ring.ts). With
// both, two hosts run side by side and their measurements alternate in rounds, so a machine whose
// load changes meanwhile skews both alike; ratios are ring / message. Also printed: the API
// thread's GC pauses during the 256-in-flight phase, and the CPU an idle host burns (process-wide,
// over 2 s, after its workers parked), and the floor: a bare round trip between two threads
// (bench/round-trip.ts). The top-level figures are the first channel's (ring, the default):
// bench/run.ts reads them.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver, constants } from "node:perf_hooks";
import { Host } from "../host/index.ts";
import { median, percentile, report, round, scaled } from "./common.ts";
import { roundTrips } from "./round-trip.ts";

const arg = process.argv.indexOf("--channel");
const which = arg > 0 ? process.argv[arg + 1] : "both";
const channels = (which === "both" ? ["ring", "message"] : [which]) as ("ring" | "message")[];
const ROUNDS = Number(process.env.ROUNDS ?? scaled(3, 1));
const SINGLE = scaled(2000, 1000);
const MANY_MS = scaled(1500, 700);
const FEW_MS = scaled(700, 350);

const dir = mkdtempSync(join(tmpdir(), "solo-bench-"));
const echo = readFileSync(new URL("../examples/echo.as.ts", import.meta.url), "utf8");
const TENANTS = ["t0", "t1", "t2", "t3"];

// GC on the API thread: pauses (their length on a loaded machine is mostly the scheduler's), and
// minor GCs per 10k calls, which counts what calls allocate whatever the load.
let gcs: number[] = [];
let minorGcs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcs.push(e.duration);
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minorGcs++;
  }
});

// Admission's limit out of reach: 256 echo calls in flight do wait past its 5 ms target on a busy
// machine, and would rightly be shed; this bench measures throughput (with admission's
// bookkeeping on every call), bench/overload.ts the shedding. One artifact cache: the second host's
// deploys are not compiled again.
const hosts = new Map<string, Host>();
try {
  for (const ch of channels) {
    const host = await Host.open({ dataDir: join(dir, ch), cacheDir: join(dir, "artifacts"), callChannel: ch, admission: { targetMs: 1e9 } });
    hosts.set(ch, host);
    for (const t of TENANTS) await host.deploy({ tenant: t, service: "echo", source: echo, language: "assemblyscript" });
    for (let i = 0; i < scaled(2000, 1000); i++) await host.call("t0", "echo", "hello");
  }

  async function single(host: Host, n: number): Promise<number[]> {
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await host.call("t0", "echo", "hello");
      lat.push((performance.now() - t) * 1000);
    }
    return lat;
  }

  // Many in flight: `inflight` loops, each issuing its next call when the previous answers.
  async function load(host: Host, inflight: number, ms: number) {
    const lat: number[] = [];
    let done = 0;
    const until = performance.now() + ms;
    await Promise.all(
      Array.from({ length: inflight }, async (_, i) => {
        const tenant = TENANTS[i % TENANTS.length]!;
        while (performance.now() < until) {
          const t = performance.now();
          await host.call(tenant, "echo", "hello");
          if ((done++ & 15) === 0) lat.push((performance.now() - t) * 1000);
        }
      }),
    );
    return { done, lat };
  }

  async function idleCpuMs(): Promise<number> {
    await new Promise((r) => setTimeout(r, 200)); // workers linger a few ms, then park
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 2000));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  }

  type Figures = { single: number[]; many: number[]; manyCalls: number; manyMs: number; few: number[]; fewCalls: number; fewMs: number; gcMs: number[]; minorGcs: number };
  const figures = new Map<string, Figures>(channels.map((c) => [c, { single: [], many: [], manyCalls: 0, manyMs: 0, few: [], fewCalls: 0, fewMs: 0, gcMs: [], minorGcs: 0 }]));
  for (const ch of channels) await load(hosts.get(ch)!, 256, 500); // warm
  gcObserver.observe({ entryTypes: ["gc"] });
  for (let r = 0; r < ROUNDS; r++) {
    for (const ch of channels) {
      const host = hosts.get(ch)!;
      const f = figures.get(ch)!;
      f.single.push(...(await single(host, SINGLE)));
      gcs = [];
      minorGcs = 0;
      const many = await load(host, 256, MANY_MS);
      await new Promise((r) => setTimeout(r, 50)); // observer entries arrive after the tick
      f.gcMs.push(...gcs);
      f.minorGcs += minorGcs;
      f.many.push(...many.lat);
      f.manyCalls += many.done;
      f.manyMs += MANY_MS;
      const few = await load(host, 8, FEW_MS);
      f.few.push(...few.lat);
      f.fewCalls += few.done;
      f.fewMs += FEW_MS;
    }
  }
  gcObserver.disconnect();
  // The floor: a bare round trip between two threads of this process, nothing on either side.
  const floor = await roundTrips(scaled(5000, 2000));
  console.log(`a bare round trip between two threads (median): postMessage ${floor.messageUs.toFixed(1)} us, Atomics wait/waitAsync ${floor.atomicsUs.toFixed(1)} us`);
  const out: Record<string, unknown> = { bench: "calls", workers: [...hosts.values()][0]!.stats().workers, rounds: ROUNDS, bareMessageRoundTripUs: round(floor.messageUs, 1), bareAtomicsRoundTripUs: round(floor.atomicsUs, 1) };
  for (const ch of channels) {
    const f = figures.get(ch)!;
    const g = f.gcMs;
    const row = {
      singleInFlightP50Us: round(median(f.single), 1),
      singleInFlightP99Us: round(percentile(f.single, 99), 1),
      callsPerSec: Math.round(f.manyCalls / (f.manyMs / 1000)),
      p50UsAt256InFlight: round(median(f.many), 1),
      p99UsAt256InFlight: round(percentile(f.many, 99), 1),
      callsPerSecAt8InFlight: Math.round(f.fewCalls / (f.fewMs / 1000)),
      p50UsAt8InFlight: round(median(f.few), 1),
      gcPausesAt256: g.length,
      gcMsAt256: round(g.reduce((a, b) => a + b, 0), 1),
      gcMaxMsAt256: round(g.length ? Math.max(...g) : 0, 2),
      minorGcsPer10kCallsAt256: round((f.minorGcs / f.manyCalls) * 10_000, 2),
    };
    console.log(`${ch}: one in flight p50 ${row.singleInFlightP50Us} us (x${(row.singleInFlightP50Us / floor.messageUs).toFixed(2)} the postMessage floor), p99 ${row.singleInFlightP99Us} us; 256 in flight ${row.callsPerSec} calls/s p50 ${row.p50UsAt256InFlight} us p99 ${row.p99UsAt256InFlight} us; 8 in flight ${row.callsPerSecAt8InFlight} calls/s p50 ${row.p50UsAt8InFlight} us; API-thread GC at 256: ${row.gcPausesAt256} pauses, ${row.gcMsAt256} ms, max ${row.gcMaxMsAt256} ms, ${row.minorGcsPer10kCallsAt256} minor GCs per 10k calls`);
    out[ch] = row;
  }
  // Idle CPU: one host at a time, the others closed, after calls (its workers lingered, then parked).
  for (const h of hosts.values()) await h.close();
  hosts.clear();
  for (const ch of channels) {
    const host = await Host.open({ dataDir: join(dir, `idle-${ch}`), cacheDir: join(dir, "artifacts"), callChannel: ch });
    hosts.set(ch, host);
    for (const t of TENANTS) await host.deploy({ tenant: t, service: "echo", source: echo, language: "assemblyscript" });
    for (let i = 0; i < 1000; i++) await host.call(TENANTS[i % TENANTS.length]!, "echo", "hello");
    const ms = await idleCpuMs();
    console.log(`${ch}: idle host CPU ${ms.toFixed(1)} ms over 2 s (process-wide: API thread and ${host.stats().workers} workers)`);
    (out[ch] as Record<string, unknown>).idleCpuMsOver2s = round(ms, 1);
    await host.close();
    hosts.delete(ch);
  }
  if (channels.length === 2) {
    const [a, b] = [out.message as Record<string, number>, out.ring as Record<string, number>];
    const ratio = (k: string) => round(b[k]! / a[k]!, 2);
    out.ringOverMessage = { singleInFlightP50: ratio("singleInFlightP50Us"), p99At256InFlight: ratio("p99UsAt256InFlight"), callsPerSec: ratio("callsPerSec"), p50At8InFlight: ratio("p50UsAt8InFlight"), minorGcsPerCall: ratio("minorGcsPer10kCallsAt256") };
    console.log(`ring / message: one in flight p50 x${ratio("singleInFlightP50Us")}, p99 at 256 x${ratio("p99UsAt256InFlight")}, calls/s at 256 x${ratio("callsPerSec")}, minor GCs per call x${ratio("minorGcsPer10kCallsAt256")}`);
  }
  // The first channel's figures at the top, as before there were two (bench/run.ts reads them).
  const first = out[channels[0]!] as Record<string, number>;
  Object.assign(out, { channel: channels[0], ...first, singleVsMessageFloor: round(first.singleInFlightP50Us! / floor.messageUs, 2) });
  out.goal = { callsPerSec: 200_000, singleInFlightP50Us: 20, p99UsAt256InFlight: 2000 };
  report(out);
} finally {
  for (const h of hosts.values()) await h.close();
  rmSync(dir, { recursive: true, force: true });
}
