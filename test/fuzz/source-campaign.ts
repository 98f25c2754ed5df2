// Property (b): random and generated sources into host.validate (every case) and host.deploy (a
// few: each compile costs ~1 s), typescript, javascript and assemblyscript alike. Each ends in a
// report, a result or a SoloError with a known code, within the bound; a deployed one is called
// once under the same rule. host.validate runs on the API thread, so a slow one stalls the host:
// its time is recorded, and past the case bound it counts as a hang.
import fc from "fast-check";
import type { Host } from "../../host/index.ts";
import { sourceCaseArb, type SourceCase } from "./source-gen.ts";
import { CASE_BOUND_MS, Hang, judge, newTally, within, type Tally } from "./verdict.ts";

export interface SourceFuzzOptions {
  seed: number;
  runs: number;
  /** Deploys of sources that pass validation (each one compiles): the expensive part. */
  maxCompiles: number;
  /** Percent of cases that are also deployed. */
  deployFreq: number;
  /** Largest generated "big" source (the default size limit is 1 MiB). */
  bigMaxBytes: number;
  mode?: "assert" | "count";
}

export interface SourceFailure {
  error: string;
  kind: string;
  language: string;
  /** The source, clipped for printing. */
  source: string;
  bytes: number;
}

let serial = 0;

export async function fuzzSources(host: Host, options: SourceFuzzOptions): Promise<{ tally: Tally & { validated: number; refused: number; compiles: number; slowestValidateMs: number; slowest?: string }; failures: SourceFailure[]; error?: string }> {
  const tally = { ...newTally(), validated: 0, refused: 0, compiles: 0, slowestValidateMs: 0, slowest: undefined as string | undefined };
  const kinds = new Map<string, SourceFailure>();
  let last: SourceFailure | undefined;
  const counting = options.mode === "count";
  const compiles = { deep: 0, other: 0 };
  const describe = (c: SourceCase, err: unknown): SourceFailure => ({
    error: err instanceof Error ? err.message : String(err),
    kind: c.kind,
    language: c.language,
    source: c.source.length > 2000 ? `${c.source.slice(0, 1000)} ... (${c.source.length} chars) ... ${c.source.slice(-200)}` : c.source,
    bytes: Buffer.byteLength(c.source),
  });
  const check = async (c: SourceCase) => {
    tally.cases++;
    // Each case is announced first: if it never returns, the last line says which it was (and the
    // runner's silence bound counts from it).
    process.stdout.write(`case ${tally.cases}: ${c.kind} ${c.language} ${Buffer.byteLength(c.source)} bytes starting ${JSON.stringify(c.source.slice(0, 24))}\n`);
    const started = performance.now();
    let ok = false;
    try {
      const report = await host.validate({ source: c.source, language: c.language });
      ok = report.ok;
      if (ok) tally.validated++;
      else tally.refused++;
    } catch (err) {
      judge(tally, err, "validate");
    }
    const ms = performance.now() - started;
    if (ms > tally.slowestValidateMs) {
      tally.slowestValidateMs = Math.round(ms);
      tally.slowest = `${c.kind} ${c.language} ${Buffer.byteLength(c.source)} bytes starting ${JSON.stringify(c.source.slice(0, 24))}`;
    }
    if (ms > CASE_BOUND_MS) {
      tally.hangs++;
      throw new Hang(`host.validate took ${Math.round(ms)} ms (bound ${CASE_BOUND_MS} ms)`);
    }
    // Deep sources have their own budget: they are few, and the ones most likely to break a compiler.
    const budget = c.kind === "deep" ? "deep" : "other";
    if (!c.deploy || (ok && compiles[budget] >= (budget === "deep" ? 3 : options.maxCompiles))) return;
    if (ok) {
      compiles[budget]++;
      tally.compiles++;
    }
    const service = `s${serial++}`;
    try {
      await within(CASE_BOUND_MS, `deploy+call of a ${c.language} source`, async () => {
        try {
          await host.deploy({ tenant: "fuzz", service, source: c.source, language: c.language, limits: { fuel: 20_000_000, deadlineMs: 3_000 } });
        } catch (err) {
          judge(tally, err, "deploy");
          return;
        }
        try {
          await host.call("fuzz", service, "x");
          tally.results++;
        } catch (err) {
          judge(tally, err, "call");
        }
        try {
          await host.kill("fuzz", service);
        } catch (err) {
          judge(tally, err, "kill");
        }
      });
    } catch (err) {
      if (err instanceof Hang) tally.hangs++;
      throw err;
    }
  };
  try {
    await fc.assert(
      fc.asyncProperty(sourceCaseArb(options), async (c) => {
        try {
          await check(c);
        } catch (err) {
          last = describe(c, err);
          if (counting) {
            const kind = last.error.split("\n")[0]!.replace(/\d+/g, "N").slice(0, 200);
            if (!kinds.has(kind)) kinds.set(kind, last);
            return;
          }
          if (err instanceof Hang) throw new fc.PreconditionFailure(true);
          throw err;
        }
      }),
      { seed: options.seed, numRuns: options.runs },
    );
  } catch (err) {
    return { tally, failures: last ? [last] : [], error: err instanceof Error ? err.message : String(err) };
  }
  const failures = counting ? [...kinds.values()] : last ? [last] : [];
  if (tally.hangs > 0) return { tally, failures, error: `${tally.hangs} case(s) hung` };
  if (tally.crashes > 0) return { tally, failures, error: `${tally.crashes} case(s) crashed` };
  return { tally, failures };
}
