// The long fuzz run: >= 100,000 cases. Most are the pure meter property in-process (meter() and
// WebAssembly.validate on mutated, generated and random modules: ~0.2-1 ms each); a sample goes
// through full deploys and calls on a real Host (~5-20 ms each). Failures are counted and one
// reproducer per kind is printed, and the run goes on. The last line is one JSON object:
//   {"bench":"fuzz","cases":N,"results":N,"errors":{"CODE":n},"crashes":0,"hangs":0, ...}
// FUZZ_SEED, FUZZ_CASES (meter cases, default 100000; 10000 quick) and FUZZ_DEPLOYS (default 2000; 200 quick) override.
import fc from "fast-check";
import { fuzzHost } from "../test/fuzz/campaigns.ts";
import { fuzzDeploys } from "../test/fuzz/deploy-campaign.ts";
import { fuzzSeed } from "../test/fuzz/fuzz-seed.ts";
import { checkMeter, newMeterTally } from "../test/fuzz/meter-property.ts";
import { applyMutations, mutationsArb, randomBinaryArb, type Mutation } from "../test/fuzz/mutate.ts";
import { buildSeeds } from "../test/fuzz/seeds.ts";
import { watchProcess } from "../test/fuzz/verdict.ts";
import { generateModule } from "../test/fuzz/wasm-gen.ts";
import { watToBinary } from "../test/fuzz/wat.ts";
import { report, scaled } from "./common.ts";

const seed = fuzzSeed();
const meterCases = Number(process.env.FUZZ_CASES) || scaled(100_000, 10_000);
const deployCases = Number(process.env.FUZZ_DEPLOYS) || scaled(2_000, 200);
const POOL = 1_000;
const watch = watchProcess();
console.log(`FUZZ_SEED=${seed} meter cases ${meterCases}, deploy cases ${deployCases}`);
const started = performance.now();

// A pool of valid modules to mutate: generated programs (a third without post-MVP features, a
// tenth with exceptions, which the meter refuses) and the seeds' core modules. Generating text and assembling it is the slow part, so it is done once.
const seeds = await buildSeeds();
const pool: Uint8Array[] = seeds.map((s) => s.core?.bytes ?? s.bytes);
for (let i = 0; pool.length < POOL; i++) {
  pool.push(watToBinary(generateModule(seed + i, { world: i % 2 ? "solo" : "plain", features: i % 3 !== 0, exceptions: i % 10 === 1 }).wat));
}
console.log(`pool of ${pool.length} modules in ${((performance.now() - started) / 1000).toFixed(1)} s`);

type MeterCase = { pick: number; mutations: Mutation[] | null; shared: boolean } | { random: Uint8Array; shared: boolean };
const meterCase: fc.Arbitrary<MeterCase> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ pick: fc.nat(), mutations: fc.option(mutationsArb, { freq: 4 }) as fc.Arbitrary<Mutation[] | null>, shared: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ random: randomBinaryArb, shared: fc.boolean() }) },
);

const tally = newMeterTally();
const kinds = new Map<string, { error: string; base64: string }>();
let meterCrashes = 0;
let done = 0;
fc.assert(
  fc.property(meterCase, (c) => {
    const bytes = "random" in c ? c.random : c.mutations ? applyMutations(pool[c.pick % pool.length]!, c.mutations) : pool[c.pick % pool.length]!;
    try {
      checkMeter(tally, bytes, c.shared);
    } catch (err) {
      meterCrashes++;
      const error = (err as Error).message;
      const kind = error.replace(/\d+/g, "N").slice(0, 160);
      if (!kinds.has(kind)) {
        kinds.set(kind, { error, base64: Buffer.from(bytes).toString("base64") });
        console.log(`meter property failed: ${error}\n  module (base64): ${Buffer.from(bytes).toString("base64").slice(0, 4000)}`);
      }
    }
    if (++done % 20_000 === 0) console.log(`${done} meter cases, ${tally.valid} valid, ${meterCrashes} failures, ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }),
  { seed, numRuns: meterCases },
);
const meterSeconds = (performance.now() - started) / 1000;

// The sample through the whole host: deploy, call, kill.
const h = await fuzzHost(1);
let deploy;
try {
  deploy = await fuzzDeploys(h.host, seeds, { seed, runs: deployCases, mode: "count" });
} finally {
  await h.close();
}
for (const f of deploy.failures) console.log(`deploy property failed: ${f.error}\n  ${f.language} (base64): ${f.base64.slice(0, 4000)}`);

const errors: Record<string, number> = { ...tally.errors };
for (const [code, n] of Object.entries(deploy.tally.errors)) errors[code] = (errors[code] ?? 0) + n;
report({
  bench: "fuzz",
  cases: tally.cases + deploy.tally.cases,
  results: tally.metered + deploy.tally.results,
  errors,
  crashes: meterCrashes + deploy.tally.crashes + watch.escaped.length,
  hangs: deploy.tally.hangs,
  seed,
  meter: { cases: tally.cases, valid: tally.valid, metered: tally.metered, seconds: Math.round(meterSeconds) },
  deploys: { cases: deploy.tally.cases, results: deploy.tally.results, crashes: deploy.tally.crashes, seconds: Math.round((performance.now() - started) / 1000 - meterSeconds) },
  failureKinds: kinds.size + deploy.failures.length,
});
