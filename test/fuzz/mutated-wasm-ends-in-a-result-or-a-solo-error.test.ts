// Property (a), run in a child process (test/fuzz/child.ts "deploys") so that a hang, a crash of
// the process or a worker left running after host.close() is seen from outside: mutated and
// random components and javy modules, and generated valid modules spliced into components, are
// deployed and called; each ends in a result or a SoloError with a known code (INTERNAL counts as
// a failure: the host blaming itself for what a guest did). FUZZ_SEED / FUZZ_RUNS override.
import * as assert from "uvu/assert";
import { test } from "../helpers.ts";
import { checkRun, runChild } from "./run-child.ts";

test("fuzzed WebAssembly deploys and calls end in a result or a SoloError; the neighbour still answers; nothing leaks", async () => {
  const s = checkRun(await runChild("deploys", { boundMs: 55_000 }), assert);
  const tally = s.tally as { cases: number; results: number };
  assert.ok(tally.results > 0 && tally.results < tally.cases, "both results and errors were seen");
});

test.run();
