// `npm run bench`: runs each benchmark in its own process, one after another (they measure
// time, so they must not share the two cores). Each prints its lines live and one JSON object
// as its last line; the run ends with the figures of issue #14 taken from those objects, each
// with its goal and whether it met it: a table, then one JSON line {"bench":"issue-14", ...}.
//
//   npm run bench                      every bench
//   npm run bench -- events calls      the benches whose file name contains a word given
//   npm run bench -- --quick           fewer rounds, shorter loads (or SOLO_BENCH_QUICK=1)
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const register = join(here, "..", "bin", "ts-register.mjs");
const all = ["cli.ts", "meter-overhead.ts", "calls.ts", "service-calls.ts", "javascript.ts", "idle.ts", "events.ts", "capability.ts", "secrets.ts", "swap.ts", "noisy-neighbour.ts", "api-grpc.ts", "api-ws.ts", "telemetry.ts", "crash.ts", "overload.ts", "fuzz.ts", "soak.ts", "typecheck.ts"];
/** The flags `solo start` runs the host with (bin/solo.mjs's first line, npm start): every bench gets them. */
const HOST_FLAGS = ["--min-semi-space-size=16"];
/** Node flags a bench needs besides: idle and javascript collect before they read RSS or time instantiation. */
const FLAGS: Record<string, string[]> = { "idle.ts": ["--expose-gc"], "javascript.ts": ["--expose-gc"] };

type Result = Record<string, unknown>;
type Pick = (r: Result) => number | undefined;

/** A figure of issue #14: which bench measures it, how it is read from its JSON, its goal. */
interface Figure {
  key: string;
  label: string;
  bench: string;
  read: Pick;
  goal: number;
  /** "max": the figure must be at most the goal; "min": at least. */
  kind: "max" | "min";
  unit: string;
}

const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
const field = (name: string): Pick => (r) => num(r[name]);
type GuestRatios = Record<string, { ratio: number }>;
const JS_GUEST = "rows (js)";

const FIGURES: Figure[] = [
  { key: "fuelOverheadTs", label: "fuel overhead, TypeScript guest (QuickJS)", bench: "meter-overhead", read: (r) => num((r.guests as GuestRatios | undefined)?.[JS_GUEST]?.ratio), goal: 1.1, kind: "max", unit: "x" },
  {
    key: "fuelOverheadAsWorst", label: "fuel overhead, worst AssemblyScript guest", bench: "meter-overhead", goal: 1.1, kind: "max", unit: "x",
    read: (r) => {
      const ratios = Object.entries((r.guests as GuestRatios | undefined) ?? {}).filter(([name]) => name !== JS_GUEST).map(([, g]) => g.ratio);
      return ratios.length ? Math.max(...ratios) : undefined;
    },
  },
  { key: "instantiateTsMs", label: "instantiate a TypeScript guest from its artifact", bench: "javascript", read: field("echoInstantiateBindingMs"), goal: 1, kind: "max", unit: "ms" },
  { key: "deployCachedTsMs", label: "deploy a TypeScript source already compiled", bench: "javascript", read: field("deployCachedMs"), goal: 10, kind: "max", unit: "ms" },
  { key: "deployNewTsWarmHostMs", label: "deploy a new TypeScript source, warm host", bench: "javascript", read: field("deployNewSourceWarmHostMs"), goal: 1000, kind: "max", unit: "ms" },
  { key: "echoP50Us", label: "echo through the Host API, 1 in flight, p50", bench: "calls", read: field("singleInFlightP50Us"), goal: 20, kind: "max", unit: "us" },
  { key: "p99At256InFlightMs", label: "p99 at 256 calls in flight", bench: "calls", read: (r) => { const us = num(r.p99UsAt256InFlight); return us === undefined ? undefined : us / 1000; }, goal: 2, kind: "max", unit: "ms" },
  { key: "durableAppendsPerSec", label: "durable, indexed event appends/s", bench: "events", read: field("durableAppendsPerSec"), goal: 100_000, kind: "min", unit: "/s" },
  { key: "maxApiStallMs", label: "longest API-thread stall, events appended", bench: "events", read: field("maxApiStallMs"), goal: 5, kind: "max", unit: "ms" },
  { key: "liveJsInstancesPerGB", label: "live JavaScript instances per GB", bench: "idle", read: field("liveInstancesPerGBJs"), goal: 4_000, kind: "min", unit: "" },
  { key: "recreateAsMs", label: "re-create after idle, AssemblyScript", bench: "idle", read: field("recreateAsMs"), goal: 1, kind: "max", unit: "ms" },
  { key: "recreateJsMs", label: "re-create after idle, TypeScript", bench: "idle", read: field("recreateJsMs"), goal: 2, kind: "max", unit: "ms" },
  { key: "deployedServicesPerGBAs", label: "deployed services per GB, AssemblyScript", bench: "idle", read: field("deployedServicesPerGBAs"), goal: 100_000, kind: "min", unit: "" },
  { key: "deployedServicesPerGBJs", label: "deployed services per GB, TypeScript", bench: "idle", read: field("deployedServicesPerGBJs"), goal: 100_000, kind: "min", unit: "" },
];

const args = process.argv.slice(2);
if (args.includes("--quick")) process.env.SOLO_BENCH_QUICK = "1";
const chosen = args.filter((a) => a !== "--quick");
const benches = chosen.length ? all.filter((b) => chosen.some((c) => b.includes(c))) : all;

/** Runs one bench, its output printed as it comes; its last JSON line, if it printed one. */
function runBench(bench: string): Promise<{ ok: boolean; result: Result | undefined }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...HOST_FLAGS, ...(FLAGS[bench] ?? []), "--import", register, join(here, bench)], { stdio: ["inherit", "pipe", "inherit"] });
    let tail = "";
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk);
      // Only the last lines matter; keep a bounded tail (a JSON line is a few KB at most).
      tail = (tail + chunk.toString("utf8")).slice(-65536);
    });
    child.on("close", (code) => {
      let result: Result | undefined;
      for (const line of tail.trimEnd().split("\n").reverse()) {
        if (!line.startsWith("{")) continue;
        try {
          result = JSON.parse(line) as Result;
        } catch {}
        break;
      }
      resolve({ ok: code === 0, result });
    });
  });
}

const started = performance.now();
const results = new Map<string, Result>();
const seconds: Record<string, number> = {};
const failed: string[] = [];
for (const bench of benches) {
  process.stdout.write(`\n== ${bench}\n`);
  const t = performance.now();
  const { ok, result } = await runBench(bench);
  seconds[bench.replace(/\.ts$/, "")] = Math.round((performance.now() - t) / 100) / 10;
  if (!ok) failed.push(bench.replace(/\.ts$/, ""));
  if (ok && result && typeof result.bench === "string") results.set(result.bench, result);
}

// The summary covers the figures of the benches that ran; the others are null.
const value: Record<string, number | null> = {};
const goal: Record<string, string> = {};
const met: Record<string, boolean | null> = {};
const rows: string[][] = [];
const fmt = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : String(Number(v.toFixed(3))));
for (const f of FIGURES) {
  const r = results.get(f.bench);
  const v = r ? f.read(r) : undefined;
  value[f.key] = v === undefined ? null : Number(v.toFixed(3));
  goal[f.key] = `${f.kind === "max" ? "<=" : ">="}${f.goal}`;
  met[f.key] = v === undefined ? null : f.kind === "max" ? v <= f.goal : v >= f.goal;
  const shown = v === undefined ? (benches.some((b) => b.startsWith(f.bench + ".")) ? "failed" : "not run") : `${fmt(v)}${f.unit === "/s" || f.unit === "" ? "" : " "}${f.unit}`;
  rows.push([f.label, shown, `${goal[f.key]}${f.unit === "/s" || f.unit === "" ? "" : " "}${f.unit}`, met[f.key] === null ? "-" : met[f.key] ? "yes" : "NO"]);
}
const totalSeconds = Math.round((performance.now() - started) / 1000);
const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["figure", "measured", "goal", "met"][i]!.length));
const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
process.stdout.write(`\n== issue #14 (${totalSeconds} s${process.env.SOLO_BENCH_QUICK === "1" ? ", quick mode" : ""}, load average ${loadavg()[0]!.toFixed(1)})\n`);
process.stdout.write(line(["figure", "measured", "goal", "met"]) + "\n");
for (const r of rows) process.stdout.write(line(r) + "\n");
if (failed.length) process.stdout.write(`failed (exit code not 0): ${failed.join(", ")}\n`);
process.stdout.write(JSON.stringify({ bench: "issue-14", ...value, goal, met, quick: process.env.SOLO_BENCH_QUICK === "1", seconds: { total: totalSeconds, ...seconds }, failed }) + "\n");
process.exitCode = failed.length ? 1 : 0;
