// Calls between services and guest events, through a real Host (one worker, AssemblyScript):
// an A -> B call against calling B directly (one in flight, alternating blocks so both see the
// same machine; the difference is the nested call's cost inside the worker), the same with many
// in flight (calls/s), and how many guest_event events a second the host records.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../host/index.ts";
import { median, report, round } from "./common.ts";

const B = `export function handle(request: string): string { return request; }`;
const A = `
import { services, lastError } from "solo";
export function handle(request: string): string {
  const r = services.call("b", request);
  return r === null ? lastError()!.toString() : r;
}`;
const E = `
import { events } from "solo";
export function handle(request: string): string {
  const n = I32.parseInt(request);
  for (let i = 0; i < n; i++) events.emit("tick", '{"i":' + i.toString() + "}");
  return "ok";
}`;
const EMITTERS = 20;

const dir = mkdtempSync(join(tmpdir(), "solo-bench-svc-"));
// Thousands in flight: the default quotas would (rightly) refuse most of them.
// Admission out of reach, as in calls.ts: bursts wait past its 5 ms target on a busy machine and
// would rightly be shed; this bench measures throughput, bench/overload.ts the shedding.
const host = await Host.open({ dataDir: dir, workers: 1, quotas: { fuelPerSecond: Number.MAX_SAFE_INTEGER, queuedCalls: 100_000 }, admission: { targetMs: 1e9 } });
try {
  await host.deploy({ tenant: "t", service: "b", source: B, language: "assemblyscript" });
  await host.deploy({ tenant: "t", service: "a", source: A, language: "assemblyscript", capabilities: ["call:b"] });
  const check = (await host.call("t", "a", "hello")).output;
  if (check !== "hello") throw new Error(`a -> b answered ${check}`);

  const direct: number[] = [];
  const nested: number[] = [];
  const block = async (service: string, n: number, into?: number[]) => {
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await host.call("t", service, "hello");
      into?.push((performance.now() - t0) * 1000);
    }
  };
  await block("b", 2000);
  await block("a", 2000);
  for (let r = 0; r < 20; r++) {
    await block("b", 500, direct);
    await block("a", 500, nested);
  }
  const directUs = median(direct);
  const nestedUs = median(nested);

  const burst = async (service: string, n: number) => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: n }, () => host.call("t", service, "hello")));
    return n / ((performance.now() - t0) / 1000);
  };
  await burst("b", 5000);
  await burst("a", 5000);
  // Alternating rounds, medians: the machine's load moves between bursts.
  const directRounds: number[] = [];
  const nestedRounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    directRounds.push(await burst("b", 10_000));
    nestedRounds.push(await burst("a", 10_000));
  }
  const directPerSec = median(directRounds);
  const nestedPerSec = median(nestedRounds);
  const fuelDirect = (await host.call("t", "b", "hello")).fuel;
  const fuelNested = (await host.call("t", "a", "hello")).fuel;

  // Each emitter's budget allows a burst of 100: 20 services x 100 events, recorded as they come.
  for (let i = 0; i < EMITTERS; i++) await host.deploy({ tenant: "t", service: `e${i}`, source: E, language: "assemblyscript", capabilities: ["emit"] });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: EMITTERS }, (_, i) => host.call("t", `e${i}`, "100")));
  const emitSec = (performance.now() - t0) / 1000;
  let recorded = 0;
  for await (const _ of host.events("t", { type: "guest_event" })) recorded++;

  report({
    bench: "service-calls",
    oneInFlight: { directP50Us: round(directUs, 1), aToBP50Us: round(nestedUs, 1), ratio: round(nestedUs / directUs, 3) },
    manyInFlight: { directPerSec: Math.round(directPerSec), aToBPerSec: Math.round(nestedPerSec), ratio: round(directPerSec / nestedPerSec, 3) },
    fuel: { direct: fuelDirect, aToB: fuelNested },
    emits: { recorded, perSec: Math.round(recorded / emitSec) },
  });
} finally {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
}
