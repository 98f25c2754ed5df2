// Fuel-metering overhead on CPU-bound guests: the AssemblyScript guests and one TypeScript guest
// (QuickJS: every core module metered with shared counters), the same code metered and plain, in
// one process, after warm-up (V8 does not tier up a running wasm call, so each variant is called
// repeatedly first). Rounds alternate the two variants (and which goes first); a guest's ratio
// is the median over rounds of metered/plain *CPU time* of the two calls of the round, which a
// shared, loaded machine disturbs far less than wall time (both are printed). Also instantiate
// time and the in-process call round trip.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
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
const ROUNDS = Number(process.env.ROUNDS ?? scaled(101, 41));

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

const overhead: Record<string, { meteredCpuMs: number; plainCpuMs: number; ratio: number; wallRatio: number; fuel: number }> = {};
try {
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
    console.log(`${g.name.padEnd(10)} cpu metered ${median(mt.map((x) => x.cpu)).toFixed(2)} ms  plain ${median(pt.map((x) => x.cpu)).toFixed(2)} ms  ratio ${ratio.toFixed(3)} (rounds p25 ${q(0.25).toFixed(3)} p75 ${q(0.75).toFixed(3)})  wall ratio ${wallRatio.toFixed(3)}  fuel ${fuel}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
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
