// Fuel-metering overhead on CPU-bound guests: the AssemblyScript guests and one TypeScript guest
// (QuickJS: every core module metered with shared counters), the same code metered and plain, in
// one process, after warm-up (V8 does not tier up a running wasm call, so each variant is called
// repeatedly first). Rounds alternate the two variants (and which goes first); a process's ratio
// for a guest is the median over rounds of metered/plain *CPU time* of the two calls of the round,
// which a shared, loaded machine disturbs far less than wall time (both are printed).
//
// One process's ratio is one sample: where V8 happens to place the two variants' code moves it by
// several percent from process to process (sha256 measured 1.03-1.17 across eight processes, each
// steady within itself: rounds' p25-p75 within ~2%). So the comparison runs in PROCESSES separate
// processes, one after another, and a guest's figure is the median of their ratios; each process's
// ratio is printed beside it. Also instantiate time and the in-process call round trip.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { compileJavaScript } from "../host/compile/javascript.ts";
import { GlueSandbox, type Glue } from "../host/runtime/glue-sandbox.ts";
import { DEFAULT_METER_SETTINGS, meter } from "../host/wasm/index.ts";
import { transpileComponent } from "../host/wasm/transpile.ts";
import { compileGuest, median, quietEnv, report, round, sandbox, scaled } from "./common.ts";

interface Runner { call(input: string, fuel: number, maxBytes: number): { ok: boolean; output?: string; fuel: number } }

const GUESTS: { name: string; input: string; make: () => Promise<{ metered: Runner; plain: Runner }> }[] = [
  { name: "sha256", input: "256", make: () => asGuest("./guests/sha256.as.ts") },
  { name: "quicksort", input: "200000", make: () => asGuest("./guests/quicksort.as.ts") },
  { name: "tokenizer", input: "2000", make: () => asGuest("./guests/tokenizer.as.ts") },
  { name: "rows (js)", input: "3000", make: () => jsGuest("./guests/rows.ts") },
];
const WARMUP = scaled(30, 15);
const ROUNDS = Number(process.env.ROUNDS ?? scaled(61, 41));
/** Separate processes the comparison runs in (see the top of this file). */
const PROCESSES = Number(process.env.SOLO_METER_PROCESSES ?? scaled(5, 1));
if (!Number.isInteger(PROCESSES) || PROCESSES < 1) throw new Error(`SOLO_METER_PROCESSES must be a whole number of at least 1, not ${process.env.SOLO_METER_PROCESSES}`);
/** Set in a child: run the comparison once, print its figures as one JSON line, exit. */
const CHILD = process.env.SOLO_METER_CHILD === "1";

async function asGuest(file: string) {
  const guest = await compileGuest(file);
  return { metered: sandbox(guest.metered, guest.encoding), plain: sandbox(guest.plain, guest.encoding) };
}

const dir = mkdtempSync(join(tmpdir(), "solo-bench-meter-"));
async function jsGuest(file: string) {
  const component = await compileJavaScript(readFileSync(new URL(file, import.meta.url), "utf8"), file, "typescript");
  const { glue, modules } = await transpileComponent(component);
  writeFileSync(join(dir, "package.json"), '{"type":"module"}');
  writeFileSync(join(dir, "guest.js"), glue);
  const g = (await import(pathToFileURL(join(dir, "guest.js")).href)) as Glue;
  const make = (metered: boolean) => {
    const mods: Record<string, WebAssembly.Module> = {};
    for (const [name, bytes] of Object.entries(modules)) {
      mods[name] = new WebAssembly.Module(metered ? meter(bytes, { ...DEFAULT_METER_SETTINGS, sharedCounters: true }).bytes : new Uint8Array(bytes));
    }
    return new GlueSandbox(g, mods, quietEnv(), 256 * 1024 * 1024, 1_000_000_000);
  };
  return { metered: make(true), plain: make(false) };
}

/** One call's wall and CPU milliseconds. */
function timed(r: Runner, input: string): { wall: number; cpu: number } {
  const c = process.cpuUsage();
  const t = performance.now();
  r.call(input, 10_000_000_000, 1 << 20);
  const wall = performance.now() - t;
  const used = process.cpuUsage(c);
  return { wall, cpu: (used.user + used.system) / 1000 };
}

interface Overhead { meteredCpuMs: number; plainCpuMs: number; ratio: number; wallRatio: number; fuel: number }

/** One process's comparison of every guest (the child's work). */
async function compare(): Promise<Record<string, Overhead>> {
  const overhead: Record<string, Overhead> = {};
  mkdirSync(dir, { recursive: true });
  for (const g of GUESTS) {
    const { metered: m, plain: p } = await g.make();
    let fuel = 0;
    for (let i = 0; i < WARMUP; i++) {
      const a = m.call(g.input, 10_000_000_000, 1 << 20);
      const b = p.call(g.input, 10_000_000_000, 1 << 20);
      if (!a.ok || !b.ok || a.output !== b.output) throw new Error(`${g.name}: metered and plain disagree: ${JSON.stringify([a, b])}`);
      fuel = a.fuel;
    }
    const mt: { wall: number; cpu: number }[] = [];
    const pt: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2) { mt.push(timed(m, g.input)); pt.push(timed(p, g.input)); }
      else { pt.push(timed(p, g.input)); mt.push(timed(m, g.input)); }
    }
    const ratio = median(mt.map((x, i) => x.cpu / Math.max(pt[i]!.cpu, 0.001)));
    const ratios = mt.map((x, i) => x.cpu / Math.max(pt[i]!.cpu, 0.001)).sort((a, b) => a - b);
    const q = (f: number) => ratios[Math.floor(f * (ratios.length - 1))]!;
    const wallRatio = median(mt.map((x) => x.wall)) / median(pt.map((x) => x.wall));
    overhead[g.name] = { meteredCpuMs: round(median(mt.map((x) => x.cpu))), plainCpuMs: round(median(pt.map((x) => x.cpu))), ratio: round(ratio), wallRatio: round(wallRatio), fuel };
    console.log(`  ${g.name.padEnd(10)} cpu metered ${median(mt.map((x) => x.cpu)).toFixed(2)} ms  plain ${median(pt.map((x) => x.cpu)).toFixed(2)} ms  ratio ${ratio.toFixed(3)} (rounds p25 ${q(0.25).toFixed(3)} p75 ${q(0.75).toFixed(3)})  wall ratio ${wallRatio.toFixed(3)}  fuel ${fuel}`);
  }
  return overhead;
}

if (CHILD) {
  try {
    // Written at once (a pipe write may be lost at process.exit): the parent reads this last line.
    const figures = await compare();
    writeSync(1, JSON.stringify({ child: figures }) + "\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
rmSync(dir, { recursive: true, force: true });

// The comparison in PROCESSES fresh processes, one after another (never two at once: they measure CPU time).
const runs: Record<string, Overhead>[] = [];
for (let p = 0; p < PROCESSES; p++) {
  console.log(`process ${p + 1} of ${PROCESSES}:`);
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], { env: { ...process.env, SOLO_METER_CHILD: "1" }, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 });
  const lines = (child.stdout ?? "").trimEnd().split("\n");
  const last = lines[lines.length - 1] ?? "";
  const figures = child.status === 0 && last.startsWith('{"child":') ? (JSON.parse(last) as { child: Record<string, Overhead> }).child : undefined;
  for (const line of figures ? lines.slice(0, -1) : lines) console.log(line);
  if (!figures) throw new Error(`the comparison's process ${p + 1} failed: exit ${child.status}, signal ${child.signal}${child.error ? `, ${child.error.message}` : ""}${child.status === 0 ? ", and its last line was not its figures" : ""}`);
  runs.push(figures);
}
const overhead: Record<string, Overhead & { processRatios: number[]; meanRatio: number; maxRatio: number }> = {};
for (const name of Object.keys(runs[0]!)) {
  const per = runs.map((r) => r[name]!);
  const processRatios = per.map((o) => o.ratio);
  overhead[name] = {
    meteredCpuMs: round(median(per.map((o) => o.meteredCpuMs))), plainCpuMs: round(median(per.map((o) => o.plainCpuMs))),
    ratio: round(median(processRatios)), wallRatio: round(median(per.map((o) => o.wallRatio))), fuel: per[0]!.fuel, processRatios,
    meanRatio: round(processRatios.reduce((a, b) => a + b, 0) / processRatios.length), maxRatio: round(Math.max(...processRatios)),
  };
  if (per.some((o) => o.fuel !== per[0]!.fuel)) throw new Error(`${name}: fuel differs between processes: ${per.map((o) => o.fuel).join(", ")}`);
  const o = overhead[name]!;
  console.log(`${name.padEnd(10)} ratio ${o.ratio.toFixed(3)} (median of ${PROCESSES} processes: ${processRatios.map((r) => r.toFixed(3)).join(", ")}; mean ${o.meanRatio.toFixed(3)}, max ${o.maxRatio.toFixed(3)}); fuel ${per[0]!.fuel} in every process`);
}

// Instantiate from a compiled module, and one echo call in-process (no worker).
const echo = await compileGuest("../examples/echo.as.ts");
const inst: number[] = [];
for (let i = 0; i < scaled(2000, 700); i++) {
  const t = performance.now();
  sandbox(echo.metered, echo.encoding);
  inst.push(performance.now() - t);
}
const s = sandbox(echo.metered, echo.encoding);
for (let i = 0; i < scaled(20_000, 5_000); i++) s.call("hello", 1_000_000, 1 << 20);
const N = scaled(200_000, 50_000);
const t0 = performance.now();
for (let i = 0; i < N; i++) s.call("hello", 1_000_000, 1 << 20);
const callUs = ((performance.now() - t0) * 1000) / N;
const instantiateMs = median(inst.slice(200));
console.log(`instantiate (echo, from compiled module) p50 ${(instantiateMs * 1000).toFixed(1)} us; in-process echo call ${callUs.toFixed(2)} us`);

const ratios = Object.values(overhead).map((o) => o.ratio);
report({
  bench: "meter-overhead",
  ratio: round(Math.max(...ratios)),
  guests: overhead,
  instantiateUs: round(instantiateMs * 1000, 1),
  inProcessCallUs: round(callUs, 2),
  goal: { ratio: 1.1 },
});
