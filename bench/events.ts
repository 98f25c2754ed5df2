// The event store: appends under a sustained offered load (100k/s for several seconds) with the
// API thread's event-loop delay measured throughout; durable appends/s with group commit (many
// in flight) vs one synced write at a time vs an unsynced raw batch baseline; filter queries on
// 1M events; subscribe fan-out to 100 subscribers.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver, monitorEventLoopDelay, type PerformanceEntry } from "node:perf_hooks";
import { RocksLevel } from "@nxtedition/rocksdb";
import { EventStore, type EventType } from "../host/events/index.ts";
import { Storage } from "../host/storage/index.ts";
import { median, report, round, scaled } from "./common.ts";

const TOTAL = Number(process.env.SOLO_BENCH_EVENTS ?? scaled(1_000_000, 300_000));
const RATE = Number(process.env.SOLO_BENCH_EVENTS_RATE ?? 100_000);
const SECONDS = Number(process.env.SOLO_BENCH_EVENTS_SECONDS ?? scaled(5, 3));
const GOAL = { durableAppendsPerSec: 100_000, maxApiStallMs: 5 };
const dir = mkdtempSync(join(tmpdir(), "solo-bench-events-"));
const data = { request: "x".repeat(120), fuel: 12345, memoryBytes: 65536, note: "a typical payload of a few hundred bytes" };

/**
 * Linux only: the longest time the API thread spent on a CPU between two ticks of a 1 ms timer,
 * read from /proc/thread-self/schedstat (ns on a CPU, ns waiting for one). On a shared machine
 * the event-loop delay also counts the time the OS kept the thread off every CPU; this counts
 * only the thread's own work (its slices, GC), so it tells the two apart. Null elsewhere.
 * Coarse: the kernel brings a running thread's figure up to date only at a scheduler tick (4 ms
 * at 250 Hz) or a switch, so one reading can be off by a tick either way.
 */
function onCpuSampler(): { stop(): { maxMs: number; p99Ms: number; offCpuMaxMs: number } | null } {
  const read = (): [number, number] | null => {
    try {
      const [run, wait] = readFileSync("/proc/thread-self/schedstat", "utf8").split(" ");
      return [Number(run), Number(wait)];
    } catch {
      return null;
    }
  };
  let prev = read();
  const runs: number[] = [];
  let offCpuMax = 0;
  const timer = prev && setInterval(() => {
    const cur = read()!;
    runs.push((cur[0] - prev![0]) / 1e6);
    offCpuMax = Math.max(offCpuMax, (cur[1] - prev![1]) / 1e6);
    prev = cur;
  }, 1);
  return {
    stop() {
      if (!timer) return null;
      clearInterval(timer);
      runs.sort((a, b) => a - b);
      return { maxMs: runs[runs.length - 1] ?? 0, p99Ms: runs[Math.floor(runs.length * 0.99)] ?? 0, offCpuMaxMs: offCpuMax };
    },
  };
}

/** The API thread's GC pauses (wall time, as V8 reports them) while it runs: the longest, and how many. */
function gcPauses(): { stop(): { maxMs: number; count: number; kind: string } } {
  let maxMs = 0;
  let count = 0;
  let kind = "";
  const kinds: Record<number, string> = { 1: "minor", 2: "major", 4: "incremental", 8: "weak callbacks" };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      count++;
      if (e.duration > maxMs) {
        maxMs = e.duration;
        kind = kinds[e.detail?.kind ?? 0] ?? "other";
      }
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  return { stop: () => (obs.disconnect(), { maxMs, count, kind }) };
}

/** `inflight` appenders in a loop, each awaiting its append; started 100 per turn of the loop. */
async function appendMany(store: EventStore, n: number, inflight: number, type: (i: number) => EventType = () => "guest_event") {
  let i = 0;
  const lanes: Promise<void>[] = [];
  for (let l = 0; l < inflight; l++) {
    if (l % 100 === 99) await new Promise((r) => setImmediate(r));
    lanes.push((async () => {
      while (i < n) {
        const k = i++;
        await store.append({ type: type(k), tenant: `t${k % 50}`, service: `s${k % 7}`, data });
      }
    })());
  }
  await Promise.all(lanes);
}

/**
 * An open-loop load: appends issued at `rate` per second for `seconds` (never more than 200 in
 * one turn of the loop, so the load itself does not stall the thread), whatever the durable rate.
 * Resolves when every one issued has settled.
 */
function offer(store: EventStore, rate: number, seconds: number): Promise<{ issued: number; durable: number; failed: number; secs: number; issueSecs: number }> {
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let issued = 0;
  let durable = 0;
  let failed = 0;
  let issueSecs = 0;
  return new Promise((resolve) => {
    const settled = () => {
      if (durable + failed === total) resolve({ issued, durable, failed, secs: (performance.now() - start) / 1000, issueSecs });
    };
    const ok = () => (durable++, settled());
    const bad = () => (failed++, settled());
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      const n = Math.min(due - issued, 200);
      for (let j = 0; j < n; j++) {
        const k = issued++;
        store.append({ type: "guest_event", tenant: `t${k % 50}`, service: `s${k % 7}`, data }).then(ok, bad);
      }
      if (issued === total) issueSecs = (performance.now() - start) / 1000;
      else if (due > issued) setImmediate(tick);
      else setTimeout(tick, 1);
    };
    tick();
  });
}

try {
  const storage = await Storage.open(join(dir, "db"));
  const store = await EventStore.open(storage);
  await appendMany(store, 20_000, 2000); // warm-up

  // 1. A sustained offered load: the API thread's event-loop delay during all of it, and the
  // longest stall in each second (so a slow first burst cannot hide the rest).
  const whole = monitorEventLoopDelay({ resolution: 1 });
  const second = monitorEventLoopDelay({ resolution: 1 });
  const perSecondMaxMs: number[] = [];
  whole.enable();
  second.enable();
  const sampler = setInterval(() => {
    perSecondMaxMs.push(round(second.max / 1e6, 1));
    second.reset();
  }, 1000);
  const onCpu = onCpuSampler();
  const gc = gcPauses();
  const load = await offer(store, RATE, SECONDS);
  const cpu = onCpu.stop();
  const pauses = gc.stop();
  clearInterval(sampler);
  whole.disable();
  second.disable();
  const sustained = load.durable / load.secs;
  const stallMs = whole.max / 1e6;
  const stallP99Ms = whole.percentile(99) / 1e6;
  if (load.failed > 0) throw new Error(`${load.failed} appends failed`);
  console.log(`sustained load: ${load.issued} appends offered at ${Math.round(load.issued / load.issueSecs)}/s over ${load.issueSecs.toFixed(1)} s (asked ${RATE}/s); ${Math.round(sustained)} durable appends/s until the last was durable (${load.secs.toFixed(1)} s)`);
  console.log(`  API-thread event-loop delay during it: p99 ${stallP99Ms.toFixed(1)} ms, max ${stallMs.toFixed(1)} ms (goal <= ${GOAL.maxApiStallMs} ms); max per second ${perSecondMaxMs.join(", ")} ms`);
  console.log(`  the API thread's GC: ${pauses.count} pauses, the longest ${pauses.maxMs.toFixed(1)} ms (${pauses.kind})`);
  if (cpu) console.log(`  the API thread's own work between 1 ms ticks: p99 ${cpu.p99Ms.toFixed(1)} ms, max ${cpu.maxMs.toFixed(1)} ms; the longest it waited for a CPU: ${cpu.offCpuMaxMs.toFixed(1)} ms (load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs)`);

  // 2. Throughput: group commit, 4000 appends in flight, as fast as they become durable.
  const closed = monitorEventLoopDelay({ resolution: 1 });
  closed.enable();
  let t = performance.now();
  // Rare types spread through the log, for the type query below.
  await appendMany(store, TOTAL, 4000, (k) => (k % 1000 === 0 ? "circuit_opened" : "guest_event"));
  const groupSecs = (performance.now() - t) / 1000;
  closed.disable();
  const grouped = TOTAL / groupSecs;
  console.log(`group commit: ${Math.round(grouped)} durable appends/s (goal >= ${GOAL.durableAppendsPerSec}; ${TOTAL} events, 3 index entries each, 4000 in flight); API-thread event-loop delay p99 ${(closed.percentile(99) / 1e6).toFixed(1)} ms, max ${(closed.max / 1e6).toFixed(1)} ms`);

  // 3. One synced write at a time (each append awaited before the next).
  t = performance.now();
  const SINGLE = 2000;
  for (let i = 0; i < SINGLE; i++) await store.append({ type: "guest_event", tenant: "single", data });
  const single = SINGLE / ((performance.now() - t) / 1000);
  console.log(`one at a time: ${Math.round(single)} durable appends/s`);

  // 4. Queries on the ~1M-event log.
  const tenantLat: number[] = [];
  for (let i = 0; i < 50; i++) {
    const s = performance.now();
    const page = await store.list({ tenant: `t${i % 50}`, limit: 100 });
    tenantLat.push(performance.now() - s);
    if (page.length !== 100) throw new Error("tenant query came back short");
  }
  const typeLat: number[] = [];
  let rare = 0;
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    rare = (await store.list({ type: "circuit_opened" })).length;
    typeLat.push(performance.now() - s);
  }
  const afterLat: number[] = [];
  const all = await store.list({ tenant: "t3", limit: 5000 });
  for (let i = 0; i < 50; i++) {
    const s = performance.now();
    await store.list({ tenant: "t3", after: all[(i * 97) % all.length]!.id, limit: 100 });
    afterLat.push(performance.now() - s);
  }
  console.log(`queries on ${TOTAL} events: first 100 of a tenant p50 ${median(tenantLat).toFixed(2)} ms; all ${rare} of a rare type p50 ${median(typeLat).toFixed(1)} ms; 100 of a tenant after an id p50 ${median(afterLat).toFixed(2)} ms`);

  // 5. Fan-out: 100 live subscribers, 10k events.
  const SUBS = 100;
  const FAN = 10_000;
  const subs = Array.from({ length: SUBS }, () => store.subscribe({}, { maxBuffer: FAN * 2 }));
  t = performance.now();
  const readers = subs.map(async (sub) => {
    let got = 0;
    for await (const _ of sub) if (++got === FAN) break;
    return got;
  });
  await appendMany(store, FAN, 1000);
  const counts = await Promise.all(readers);
  const fanSecs = (performance.now() - t) / 1000;
  if (counts.some((c) => c !== FAN)) throw new Error("a subscriber missed events");
  console.log(`fan-out: ${SUBS} subscribers x ${FAN} events in ${fanSecs.toFixed(2)} s = ${Math.round((SUBS * FAN) / fanSecs)} deliveries/s`);
  const verifyStart = performance.now();
  const verified = await store.verify();
  const verifyMs = performance.now() - verifyStart;
  store.close();
  await storage.close();

  // 6. Baseline: the same number of ~300-byte records as raw unsynced batches of 1000, one key each.
  const raw = new RocksLevel(join(dir, "raw"), { keyEncoding: "utf8", valueEncoding: "utf8" }) as any;
  await raw.open();
  const value = JSON.stringify({ id: "01J0000000000000000000000", time: new Date().toISOString(), type: "guest_event", tenant: "t1", service: "s1", actor: "local", data });
  const RAW = Math.min(TOTAL, 300_000);
  t = performance.now();
  for (let b = 0; b < RAW; b += 1000) {
    const ops = [];
    for (let i = b; i < b + 1000; i++) ops.push({ type: "put", key: `e:${String(i).padStart(12, "0")}`, value });
    await raw.batch(ops, { sync: false });
  }
  const unsynced = RAW / ((performance.now() - t) / 1000);
  await raw.close();
  console.log(`baseline: ${Math.round(unsynced)} unsynced raw appends/s (one key per event, no index, no hash)`);

  report({
    bench: "events",
    events: TOTAL,
    durableAppendsPerSec: Math.round(grouped),
    singleSyncedAppendsPerSec: Math.round(single),
    unsyncedBaselinePerSec: Math.round(unsynced),
    ratio: round(grouped / unsynced),
    groupVsSingle: round(grouped / single, 1),
    offeredPerSec: RATE,
    sustainedSeconds: SECONDS,
    sustainedDurablePerSec: Math.round(sustained),
    maxApiStallMs: round(stallMs, 1),
    p99ApiStallMs: round(stallP99Ms, 1),
    maxApiStallPerSecondMs: perSecondMaxMs,
    maxApiGcPauseMs: round(pauses.maxMs, 1),
    apiGcPauses: pauses.count,
    maxApiOnCpuMs: cpu && round(cpu.maxMs, 1),
    p99ApiOnCpuMs: cpu && round(cpu.p99Ms, 1),
    maxApiWaitForCpuMs: cpu && round(cpu.offCpuMaxMs, 1),
    loadAverage: round(loadavg()[0]!, 1),
    throughputMaxApiStallMs: round(closed.max / 1e6, 1),
    tenantQueryP50Ms: round(median(tenantLat)),
    rareTypeQueryP50Ms: round(median(typeLat)),
    tenantAfterIdQueryP50Ms: round(median(afterLat)),
    fanoutDeliveriesPerSec: Math.round((SUBS * FAN) / fanSecs),
    verifyMs: Math.round(verifyMs),
    verifiedEvents: verified.checked,
    goal: GOAL,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
