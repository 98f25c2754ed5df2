// Property (a), run in a child process (test/fuzz/child.ts "deploys") so that a hang, a crash of
// the process or a worker left running after host.close() is seen from outside: mutated and
// random components and javy modules, and generated valid modules spliced into components, are
// deployed and called; each ends in a result or a SoloError with a known code (INTERNAL counts as
// a failure: the host blaming itself for what a guest did). FUZZ_SEED / FUZZ_RUNS override.
import * as assert from "uvu/assert";
import { test } from "../helpers.ts";
import type { Failure } from "./deploy-campaign.ts";
import { runChild, type ChildSummary } from "./run-child.ts";

test("fuzzed WebAssembly deploys and calls end in a result or a SoloError; the neighbour still answers; nothing leaks", async () => {
  const run = await runChild("deploys", { boundMs: 55_000 });
  const s = run.summary;
  const show = () => (s ? describe(s) : run.output.slice(-8_000));
  assert.ok(!run.hung, `the campaign hung (killed at the bound):\n${show()}`);
  assert.ok(s, `the campaign printed no summary (crashed?):\n${show()}`);
  assert.ok(!run.leaked, `the process did not exit after the host closed (a worker or handle leaked):\n${show()}`);
  assert.equal(s!.escaped, [], "no unhandled rejection or uncaught exception");
  assert.equal(s!.resources, [], "nothing left active after host.close()");
  assert.is(s!.neighbourAnswers, true, "the other tenant's service still answers");
  assert.ok(s!.ok, `a case failed:\n${show()}`);
  assert.is(run.exitCode, 0);
  const tally = s!.tally as { cases: number; results: number };
  assert.ok(tally.results > 0 && tally.results < tally.cases, "both results and errors were seen");
});

/** The failure in readable form: what went wrong, the shrunk case, the module as text. */
function describe(s: ChildSummary): string {
  const failures = (s.failures ?? []) as Failure[];
  const lines = [`FUZZ_SEED=${s.seed}`, String(s.error ?? ""), JSON.stringify(s.tally), JSON.stringify({ escaped: s.escaped, resources: s.resources })];
  for (const f of failures) lines.push(`--- ${f.language}: ${f.error}`, f.wat ? f.wat.slice(0, 3000) : `(no text) base64 ${f.base64.slice(0, 2000)}`);
  return lines.join("\n");
}

test.run();
