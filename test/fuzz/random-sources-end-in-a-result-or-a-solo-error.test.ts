// Property (b), in a child process (test/fuzz/child.ts "sources"): random text, token soup,
// grammar-made programs, mutated examples, deeply nested and ~1 MB repetitive sources go to
// host.validate, and some to host.deploy (typescript, javascript, assemblyscript); each ends in a
// report, a result or a SoloError with a known code (not INTERNAL) within the bound, nothing
// leaks, and another tenant's service still answers. FUZZ_SEED / FUZZ_RUNS override.
import * as assert from "uvu/assert";
import { test } from "../helpers.ts";
import { checkRun, runChild } from "./run-child.ts";

test("fuzzed sources validate and deploy to a report, a result or a SoloError; the neighbour still answers; nothing leaks", async () => {
  const s = checkRun(await runChild("sources", { boundMs: 55_000 }), assert);
  const tally = s.tally as { validated: number; refused: number; compiles: number };
  assert.ok(tally.validated > 0 && tally.refused > 0, "sources both passed and failed validation");
  assert.ok(tally.compiles > 0, "some sources were compiled");
});

test.run();
