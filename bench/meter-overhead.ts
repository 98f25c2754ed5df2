// Fuel-metering overhead on CPU-bound AssemblyScript guests: the same module metered and plain,
// in one process, alternating, after warm-up (V8 does not tier up a running wasm call, so each
// variant is called repeatedly first). Also instantiate time and the in-process call round trip.
import { compileGuest, median, report, round, sandbox } from "./common.ts";

const GUESTS = [
  { name: "sha256", file: "./guests/sha256.as.ts", input: "256" },
  { name: "quicksort", file: "./guests/quicksort.as.ts", input: "200000" },
  { name: "tokenizer", file: "./guests/tokenizer.as.ts", input: "2000" },
];
const WARMUP = 30;
const ROUNDS = 31;

const overhead: Record<string, { meteredMs: number; plainMs: number; ratio: number; fuel: number }> = {};
for (const g of GUESTS) {
  const guest = await compileGuest(g.file);
  const m = sandbox(guest.metered, guest.encoding);
  const p = sandbox(guest.plain, guest.encoding);
  let fuel = 0;
  for (let i = 0; i < WARMUP; i++) {
    const a = m.call(g.input, 10_000_000_000, 1 << 20);
    const b = p.call(g.input, 10_000_000_000, 1 << 20);
    if (!a.ok || !b.ok || a.output !== b.output) throw new Error(`${g.name}: metered and plain disagree: ${JSON.stringify([a, b])}`);
    fuel = a.fuel;
  }
  const mt: number[] = [];
  const pt: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    m.call(g.input, 10_000_000_000, 1 << 20);
    mt.push(performance.now() - t);
    t = performance.now();
    p.call(g.input, 10_000_000_000, 1 << 20);
    pt.push(performance.now() - t);
  }
  overhead[g.name] = { meteredMs: round(median(mt)), plainMs: round(median(pt)), ratio: round(median(mt) / median(pt)), fuel };
  console.log(`${g.name.padEnd(10)} metered ${median(mt).toFixed(2)} ms  plain ${median(pt).toFixed(2)} ms  ratio ${(median(mt) / median(pt)).toFixed(3)}  fuel ${fuel}`);
}

// Instantiate from a compiled module, and one echo call in-process (no worker).
const echo = await compileGuest("../examples/echo.as.ts");
const inst: number[] = [];
for (let i = 0; i < 2000; i++) {
  const t = performance.now();
  sandbox(echo.metered, echo.encoding);
  inst.push(performance.now() - t);
}
const s = sandbox(echo.metered, echo.encoding);
for (let i = 0; i < 20_000; i++) s.call("hello", 1_000_000, 1 << 20);
const N = 200_000;
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
});
