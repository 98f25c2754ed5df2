// Overload against a real server (test/net/server.ts: gRPC over mutual TLS, one guest worker),
// shared by the overload test and bench/overload.ts. The server runs in this process; its
// clients run in a child process (overload-clients.ts), so the figures are the server's and not
// its clients' share of one event loop. The child measures capacity (calls/s with two
// closed-loop callers: one call running, one waiting, so the worker never idles and admission,
// whose limit is at least two, never refuses), then offers level x capacity for a few seconds
// per level with closed-loop callers (one call in flight each, at their own pace). This process
// samples its own memory (RSS) while each level runs.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ROOT } from "../helpers.ts";
import { openServer } from "../net/server.ts";
import type { ServerOptions } from "../../host/api/server.ts";
import { GrpcClient } from "../../host/client/index.ts";
import type { ClientPlan, PhaseResult } from "./overload-clients.ts";

/** ~5 ms of work per call on an idle core (spin.as.ts: N rounds of a hash, ~16 fuel units each). */
export const WORK = "4000000";
const SPIN = readFileSync(fileURLToPath(new URL("../fixtures/spin.as.ts", import.meta.url)), "utf8");
const CHILD = fileURLToPath(new URL("./overload-clients.ts", import.meta.url));
const REGISTER = `${ROOT}bin/ts-register.mjs`;

export interface Level extends PhaseResult {
  /** Successful calls/s over the capacity. */
  goodput: number;
  /** This process's peak RSS while the level ran (MB). */
  rssMb: number;
}

export interface OverloadRun {
  /** Calls/s, measured first. */
  capacity: number;
  rssBeforeMb: number;
  levels: Level[];
  /** The server answered a call afterwards. */
  alive: boolean;
  workerRestarts: number;
  admission: unknown;
}

const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);

export async function overload(levels: number[], secondsPerLevel: number, log: (line: string) => void = console.log, options: Partial<ServerOptions> = {}): Promise<OverloadRun> {
  const s = await openServer(options);
  try {
    const admin = await GrpcClient.connect({ address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token: s.adminToken });
    try {
      await admin.deploy({ tenant: "load", service: "spin", source: SPIN, language: "assemblyscript" });
      for (let i = 0; i < 10; i++) await admin.call("load", "spin", WORK); // warm: instance, JIT
    } finally {
      await admin.close();
    }
    const rssBeforeMb = mb();
    const plan: ClientPlan = { address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token: s.adminToken, tenant: "load", service: "spin", request: WORK, levels, secondsPerLevel };
    const child = spawn(process.execPath, ["--import", REGISTER, CHILD, JSON.stringify(plan)], { stdio: ["ignore", "pipe", "inherit"] });
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, mb())), 50);
    let capacity = 0;
    const out: Level[] = [];
    try {
      for await (const line of createInterface({ input: child.stdout! })) {
        const m = JSON.parse(line) as PhaseResult | { phase: "start"; name: string };
        if (m.phase === "start") {
          peak = mb();
          continue;
        }
        const r = m as PhaseResult;
        if (r.phase === "capacity") {
          capacity = r.ok / r.seconds;
          log(`  capacity: ${capacity.toFixed(1)} calls/s (2 closed-loop callers; ${r.refused} refused; p50 ${r.p50OkMs.toFixed(2)} ms)`);
          continue;
        }
        const l: Level = { ...r, goodput: r.ok / r.seconds / capacity, rssMb: Math.max(peak, mb()) };
        out.push(l);
        log(`  ${l.level}x (${l.clients} clients, ${l.offered} calls/s offered): goodput ${(100 * l.goodput).toFixed(1)}% of capacity (${l.ok} ok, ${l.refused} refused, ${l.other.length} other); time to refuse p50 ${l.p50RefuseMs.toFixed(2)} ms p99 ${l.p99RefuseMs.toFixed(2)} ms; served p50 ${l.p50OkMs.toFixed(1)} ms p99 ${l.p99OkMs.toFixed(1)} ms; server RSS peak ${l.rssMb} MB`);
      }
    } finally {
      clearInterval(sampler);
    }
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on("exit", resolve)));
    if (code !== 0) throw new Error(`the overload clients exited with ${code}`);

    const check = await GrpcClient.connect({ address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token: s.adminToken });
    let alive = false;
    try {
      alive = (await check.call("load", "spin", "10")).output.length > 0;
    } finally {
      await check.close();
    }
    const stats = s.server.host.stats();
    return { capacity, rssBeforeMb, levels: out, alive, workerRestarts: stats.workerRestarts, admission: stats.admission };
  } finally {
    await s.close();
  }
}
