// Admission and load shedding. Two figures:
// 1. What admission (and the circuit breaker) cost per call: echo calls through Host.call with
//    many in flight (where per-call host work shows most), on a host with both on and one with
//    both off, measured in alternating rounds in the same run; `admissionCostRatio` = time per
//    call with / without (goal <= 1.05).
// 2. Overload against a real server (test/governance/overload.ts: gRPC, one guest worker,
//    clients in a child process): goodput (successful calls/s over the measured capacity) at 2x,
//    5x and 10x capacity, p99 time to refuse, server memory; and the same load with admission
//    off, where nothing is refused and every call waits in the queue instead.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../host/index.ts";
import { overload } from "../test/governance/overload.ts";
import { median, report, round, scaled } from "./common.ts";

const SECONDS = Number(process.env.SOLO_BENCH_SECONDS ?? scaled(3, 1.5));
const ROUNDS = 5;
const INFLIGHT = 64;
const echo = readFileSync(new URL("../examples/echo.as.ts", import.meta.url), "utf8");

async function openBenchHost(on: boolean): Promise<{ host: Host; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "solo-bench-overload-"));
  // targetMs out of reach: the limit never engages (64 echo calls in flight do wait past 5 ms on a
  // busy machine); what is measured is the bookkeeping every call pays.
  const host = await Host.open({ dataDir: dir, workers: 1, admission: { enabled: on, targetMs: 1e9 }, breaker: { enabled: on } });
  await host.deploy({ tenant: "bench", service: "echo", source: echo, language: "assemblyscript" });
  return { host, dir };
}

/** Calls/s with INFLIGHT loops for `ms`. */
async function callsPerSec(host: Host, ms: number): Promise<number> {
  let done = 0;
  const t0 = performance.now();
  const until = t0 + ms;
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    while (performance.now() < until) {
      await host.call("bench", "echo", "hello");
      done++;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

const on = await openBenchHost(true);
const off = await openBenchHost(false);
let cost: { with: number; without: number; ratio: number };
try {
  await callsPerSec(on.host, 500);
  await callsPerSec(off.host, 500);
  const withAdmission: number[] = [];
  const without: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating, and which goes first alternates too: drift hits both alike.
    const order = r % 2 === 0 ? [on, off] : [off, on];
    for (const h of order) (h === on ? withAdmission : without).push(await callsPerSec(h.host, 1000));
  }
  const w = median(withAdmission);
  const wo = median(without);
  cost = { with: Math.round(w), without: Math.round(wo), ratio: round(wo / w, 3) };
  console.log(`echo, ${INFLIGHT} in flight: ${cost.with} calls/s with admission and breakers, ${cost.without} without; time per call ratio ${cost.ratio} (goal <= 1.05)`);
} finally {
  for (const h of [on, off]) {
    await h.host.close();
    rmSync(h.dir, { recursive: true, force: true });
  }
}

console.log("overload, admission on:");
const shed = await overload([2, 5, 10], SECONDS);
console.log("overload, admission off (for comparison: every call queues):");
const queued = await overload([2, 5, 10], SECONDS, console.log, { admission: { enabled: false } });

const figures = (r: typeof shed) => Object.fromEntries(r.levels.map((l) => [`x${l.level}`, { goodput: round(l.goodput, 3), refused: l.refused, p99RefuseMs: round(l.p99RefuseMs, 2), p99ServedMs: round(l.p99OkMs, 1), rssMb: l.rssMb }]));
report({
  bench: "overload",
  seconds: SECONDS,
  capacity: round(shed.capacity, 1),
  goodput: Object.fromEntries(shed.levels.map((l) => [`x${l.level}`, round(l.goodput, 3)])),
  p99RefuseMs: Object.fromEntries(shed.levels.map((l) => [`x${l.level}`, round(l.p99RefuseMs, 2)])),
  admission: figures(shed),
  noAdmission: { capacity: round(queued.capacity, 1), ...figures(queued) },
  admissionCost: cost,
  admissionCostRatio: cost.ratio,
});
