// The clients of the overload run (overload.ts), in their own process so that their work does
// not land on the server's event loop. Given a plan as JSON in argv[2], it measures capacity,
// then drives each level, and prints one JSON line per phase: {"phase":"start",...} when one
// begins (the parent samples its memory between them), then its figures.
import { GrpcClient } from "../../host/client/index.ts";
import { SoloError } from "../../host/index.ts";

export interface ClientPlan {
  address: string;
  ca: string;
  cert: string;
  key: string;
  token: string;
  tenant: string;
  service: string;
  request: string;
  levels: number[];
  secondsPerLevel: number;
}

export interface PhaseResult {
  phase: string;
  level: number;
  clients: number;
  seconds: number;
  offered: number;
  ok: number;
  refused: number;
  other: string[];
  p50OkMs: number;
  p99OkMs: number;
  p50RefuseMs: number;
  p99RefuseMs: number;
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const plan = JSON.parse(process.argv[2]!) as ClientPlan;
const say = (x: unknown) => process.stdout.write(JSON.stringify(x) + "\n");

/** `n` callers over at most 8 connections (HTTP/2 multiplexes their calls). */
async function clientsFor(n: number): Promise<GrpcClient[]> {
  const conns = await Promise.all(Array.from({ length: Math.min(n, 8) }, () => GrpcClient.connect({ address: plan.address, ca: plan.ca, cert: plan.cert, key: plan.key, token: plan.token })));
  return Array.from({ length: n }, (_, i) => conns[i % conns.length]!);
}

/**
 * `n` closed-loop callers for `ms`: each has one call in flight at most and sends the next at its
 * own pace (`perClient` a second; 0: at once), or at once when the last answer came later.
 */
async function drive(phase: string, level: number, n: number, perClient: number, ms: number): Promise<PhaseResult> {
  const clients = await clientsFor(n);
  say({ phase: "start", name: phase });
  const ok: number[] = [];
  const refuse: number[] = [];
  const other: string[] = [];
  let offered = 0;
  const t0 = performance.now();
  const until = t0 + ms;
  const period = perClient > 0 ? 1000 / perClient : 0;
  await Promise.all(clients.map(async (c, i) => {
    let next = t0 + (period * i) / n; // the first calls spread over one period
    while (true) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      const start = performance.now();
      if (start >= until) return;
      next = Math.max(next + period, start);
      offered++;
      try {
        await c.call(plan.tenant, plan.service, plan.request);
        ok.push(performance.now() - start);
      } catch (err) {
        const e = err as SoloError;
        if (e instanceof SoloError && e.code === "UNAVAILABLE" && typeof e.details?.retryAfterMs === "number" && e.details.retryAfterMs > 0) refuse.push(performance.now() - start);
        else other.push(e instanceof SoloError ? `${e.code}: ${e.message}` : String(err));
      }
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all([...new Set(clients)].map((c) => c.close()));
  return {
    phase, level, clients: n, seconds, offered: Math.round(offered / seconds), ok: ok.length, refused: refuse.length, other: other.slice(0, 20),
    p50OkMs: percentile(ok, 50), p99OkMs: percentile(ok, 99), p50RefuseMs: percentile(refuse, 50), p99RefuseMs: percentile(refuse, 99),
  };
}

// Capacity: two closed-loop callers, as fast as answers come (one call running, one waiting).
const cap = await drive("capacity", 0, 2, 0, 1500);
say(cap);
const capacity = cap.ok / cap.seconds;
for (const level of plan.levels) {
  // Four callers per unit of load, each offering a quarter of the capacity.
  say(await drive(`${level}x`, level, 4 * level, capacity / 4, plan.secondsPerLevel * 1000));
  await sleep(200); // what is left drains
}
