// The entry of one fuzz campaign in its own process (see run-child.ts):
//   node --import ./bin/ts-register.mjs test/fuzz/child.ts <campaign>
// Prints FUZZ_SEED first and one JSON summary as its last line, then must exit by itself.
// FUZZ_SEED and FUZZ_RUNS override the seed and the number of cases.
import { CAMPAIGNS } from "./campaigns.ts";
import { fuzzSeed } from "./fuzz-seed.ts";
import { watchProcess } from "./verdict.ts";

const name = process.argv[2] ?? "";
const campaign = CAMPAIGNS[name];
if (!campaign) throw new Error(`unknown campaign "${name}"; known: ${Object.keys(CAMPAIGNS).join(", ")}`);
const watch = watchProcess();
const seed = fuzzSeed();
const runs = Number(process.env.FUZZ_RUNS) || campaign.runs;
process.stdout.write(`FUZZ_SEED=${seed} campaign=${name} runs=${runs}\n`);
const result = await campaign.run({ seed, runs });
// Everything the campaign opened is closed by now: what is still active was left behind.
await new Promise((r) => setImmediate(r));
const resources = process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap" && r !== "PipeWrap");
const ok = result.ok && watch.escaped.length === 0 && resources.length === 0;
process.stdout.write(JSON.stringify({ campaign: name, seed, ...result, ok, escaped: watch.escaped, resources }) + "\n");
process.exitCode = ok ? 0 : 1;
