// The pure meter property (test/fuzz/meter-property.ts) on generated, mutated and random
// modules: meter() returns or throws a SoloError, and a valid module metered is still valid
// with its exports kept. In-process: meter() is a pure function. FUZZ_SEED / FUZZ_RUNS override.
import fc from "fast-check";
import * as assert from "uvu/assert";
import { test } from "../helpers.ts";
import { fuzzSeed } from "./fuzz-seed.ts";
import { checkMeter, meterCaseArb, meterInput, newMeterTally } from "./meter-property.ts";
import { buildSeeds } from "./seeds.ts";

const SEED = fuzzSeed();
const RUNS = Number(process.env.FUZZ_RUNS) || 3000;
process.stdout.write(`FUZZ_SEED=${SEED} runs=${RUNS}\n`);

test("meter() on any bytes returns or throws a SoloError; a valid module stays valid with its exports", async () => {
  const seeds = await buildSeeds();
  const modules = seeds.map((s) => s.core?.bytes ?? s.bytes);
  const tally = newMeterTally();
  fc.assert(
    fc.property(meterCaseArb(modules.length), (c) => {
      const bytes = meterInput(c, modules);
      try {
        checkMeter(tally, bytes, c.shared);
      } catch (err) {
        throw new Error(`${(err as Error).message}\nmodule (base64): ${Buffer.from(bytes).toString("base64")}`);
      }
    }),
    { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
  );
  process.stdout.write(`${JSON.stringify(tally)}\n`);
  assert.ok(tally.valid > RUNS / 5, `a fifth of the cases or more are valid modules (${tally.valid} of ${RUNS}), so the property says something`);
});

test.run();
