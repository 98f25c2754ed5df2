// The noisy-neighbour scenario, shared by the test (test/governance) and the bench: tenant B calls
// echo at a steady rate alone, then again while tenant A spins an infinite loop at full rate (each
// call FUEL_EXHAUSTED) and runs a memory bomb (each call MEMORY_LIMIT). Latency is measured from
// each call's send to its answer.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SoloError, type Host } from "../host/index.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (p: string) => readFileSync(join(ROOT, p), "utf8");

export interface NoisyOptions {
  /** B's calls a second, and for how long. */
  rate?: number;
  seconds?: number;
  /** A's closed-loop clients on the loop service (each sends its next call when one answers). */
  loopClients?: number;
  /** How long B is measured apart while A starts (placement moves A then), before the steady run. */
  startSeconds?: number;
}

export interface NoisyFigures {
  solo: { p50Ms: number; p99Ms: number; maxMs: number; calls: number };
  withA: { p50Ms: number; p99Ms: number; maxMs: number; calls: number };
  /** B while A starts: the first startSeconds (A runs where it was placed until it is moved). */
  starting: { p50Ms: number; p99Ms: number; maxMs: number; calls: number };
  /** B's p99 with A over B's p99 alone (goal: at most 1.5). */
  p99Ratio: number;
  p50Ratio: number;
  /** Every B call that did not answer its request (must be 0). */
  bFailures: string[];
  /** A's answers by error code (every call of A fails: FUEL_EXHAUSTED, MEMORY_LIMIT; refusals as UNAVAILABLE:reason). */
  aCodes: Record<string, number>;
  aCalls: number;
}

export async function deployNoisy(host: Host): Promise<void> {
  await host.deploy({ tenant: "b", service: "echo", source: read("examples/echo.as.ts"), language: "assemblyscript" });
  await host.deploy({ tenant: "a", service: "loop", source: read("test/fixtures/loop.as.ts"), language: "assemblyscript" });
  await host.deploy({ tenant: "a", service: "bomb", source: read("test/fixtures/bomb.as.ts"), language: "assemblyscript" });
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** B at `rate` calls/s for `seconds`: each call's latency, and what failed. */
async function steadyB(host: Host, rate: number, seconds: number, failures: string[]): Promise<number[]> {
  const n = Math.round(rate * seconds);
  const gap = 1000 / rate;
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + i * gap;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait - 1));
    while (performance.now() < due) { /* the last millisecond: setTimeout is too coarse */ }
    const req = `b${i}`;
    const sent = performance.now();
    pending.push(host.call("b", "echo", req).then(
      (r) => {
        latencies.push(performance.now() - sent);
        if (r.output !== req) failures.push(`call ${i} answered ${r.output}`);
      },
      // With its reason and message, so that a failure says why (UNAVAILABLE:overloaded, a restart...).
      (err: unknown) => void failures.push(`call ${i}: ${err instanceof SoloError ? `${err.code}${typeof err.details?.reason === "string" ? `:${err.details.reason}` : ""} (${err.message})` : String(err)}`),
    ));
  }
  await Promise.all(pending);
  return latencies;
}

function summary(xs: number[]) {
  return { p50Ms: r3(pct(xs, 50)), p99Ms: r3(pct(xs, 99)), maxMs: r3(Math.max(...xs)), calls: xs.length };
}

export async function runNoisy(host: Host, o: NoisyOptions = {}): Promise<NoisyFigures> {
  const rate = o.rate ?? 200;
  const seconds = o.seconds ?? 3;
  const failures: string[] = [];
  // Warm: instances created, code paths compiled.
  for (let i = 0; i < 200; i++) await host.call("b", "echo", "warm");
  const solo = await steadyB(host, rate, seconds, failures);

  const aCodes: Record<string, number> = {};
  let aCalls = 0;
  let stop = false;
  const client = async (service: string) => {
    while (!stop) {
      aCalls++;
      try {
        await host.call("a", service, "x");
        aCodes.OK = (aCodes.OK ?? 0) + 1;
      } catch (err) {
        // A refusal is counted with its reason (UNAVAILABLE:circuit-open, UNAVAILABLE:overloaded).
        const reason = err instanceof SoloError && err.code === "UNAVAILABLE" ? err.details?.reason : undefined;
        const code = err instanceof SoloError ? (typeof reason === "string" ? `${err.code}:${reason}` : err.code) : String(err);
        aCodes[code] = (aCodes[code] ?? 0) + 1;
        // A refusal (load shedding, a breaker, a crash loop) answers at once: wait its hint, as a
        // client across a network would, instead of retrying in a loop that never yields.
        const retry = err instanceof SoloError ? err.details?.retryAfterMs : undefined;
        if (typeof retry === "number") await new Promise((r) => setTimeout(r, Math.min(retry, 1000)));
      }
    }
  };
  const clients = [...Array.from({ length: o.loopClients ?? 2 }, () => client("loop")), client("bomb")];
  // While A starts (and placement moves it, if it does): B's calls meanwhile are the transient.
  const starting = await steadyB(host, rate, o.startSeconds ?? 1.5, failures);
  const withA = await steadyB(host, rate, seconds, failures);
  stop = true;
  await Promise.all(clients);
  const s = summary(solo);
  const w = summary(withA);
  return { solo: s, withA: w, starting: summary(starting), p99Ratio: r3(w.p99Ms / s.p99Ms), p50Ratio: r3(w.p50Ms / s.p50Ms), bFailures: failures, aCodes, aCalls };
}
