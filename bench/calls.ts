// Echo through the Host API: one call at a time (round trip through a worker) and many calls in
// flight (throughput with batched crossings). Real host, real workers, a temp data directory.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../host/index.ts";
import { median, percentile, report, round, scaled } from "./common.ts";
import { roundTrips } from "./round-trip.ts";

const dir = mkdtempSync(join(tmpdir(), "solo-bench-"));
// Admission's limit out of reach: 256 echo calls in flight do wait past its 5 ms target on a busy
// machine, and would rightly be shed; this bench measures throughput (with admission's
// bookkeeping on every call), bench/overload.ts the shedding.
const host = await Host.open({ dataDir: dir, admission: { targetMs: 1e9 } });
const echo = readFileSync(new URL("../examples/echo.as.ts", import.meta.url), "utf8");
const TENANTS = ["t0", "t1", "t2", "t3"];
try {
  for (const t of TENANTS) await host.deploy({ tenant: t, service: "echo", source: echo, language: "assemblyscript" });

  // One call in flight.
  for (let i = 0; i < scaled(2000, 1000); i++) await host.call("t0", "echo", "hello");
  const single: number[] = [];
  for (let i = 0; i < scaled(5000, 2000); i++) {
    const t = performance.now();
    await host.call("t0", "echo", "hello");
    single.push((performance.now() - t) * 1000);
  }
  const singleP50 = median(single);
  console.log(`one in flight: p50 ${singleP50.toFixed(1)} us, p99 ${percentile(single, 99).toFixed(1)} us`);
  // The floor: a bare round trip between two threads of this process, nothing on either side.
  const floor = await roundTrips(scaled(5000, 2000));
  console.log(`  a bare round trip between two threads (median): postMessage ${floor.messageUs.toFixed(1)} us, Atomics wait/waitAsync ${floor.atomicsUs.toFixed(1)} us; echo / postMessage floor x${(singleP50 / floor.messageUs).toFixed(2)}`);

  // Many in flight: `inflight` loops, each issuing its next call when the previous answers.
  async function load(inflight: number, ms: number) {
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
    return { callsPerSec: done / (ms / 1000), p50: median(lat), p99: percentile(lat, 99) };
  }
  await load(256, scaled(1000, 500));
  const many = await load(256, scaled(3000, 1500));
  console.log(`256 in flight: ${Math.round(many.callsPerSec)} calls/s, p50 ${many.p50.toFixed(1)} us, p99 ${many.p99.toFixed(1)} us`);
  const few = await load(8, scaled(2000, 1000));
  console.log(`8 in flight: ${Math.round(few.callsPerSec)} calls/s, p50 ${few.p50.toFixed(1)} us`);

  report({
    bench: "calls",
    workers: host.stats().workers,
    singleInFlightP50Us: round(singleP50, 1),
    bareMessageRoundTripUs: round(floor.messageUs, 1),
    bareAtomicsRoundTripUs: round(floor.atomicsUs, 1),
    singleVsMessageFloor: round(singleP50 / floor.messageUs, 2),
    callsPerSec: Math.round(many.callsPerSec),
    p50UsAt256InFlight: round(many.p50, 1),
    p99UsAt256InFlight: round(many.p99, 1),
    callsPerSecAt8InFlight: Math.round(few.callsPerSec),
    p50UsAt8InFlight: round(few.p50, 1),
    goal: { callsPerSec: 200_000, p50Us: 20 },
  });
} finally {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
}
