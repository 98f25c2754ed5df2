// Property (a): mutated and random WebAssembly, deployed through the public Host API as a
// component or as a javy module, ends in a result or a SoloError with a known code, within a
// bound; a service that deploys is called once under the same rule, then killed. A well-behaved
// service of another tenant, on the same worker, answers correctly before and after.
import fc from "fast-check";
import type { Host, Language } from "../../host/index.ts";
import { applyMutations, mutationsArb, randomBinaryArb, spliceCore, type Mutation } from "./mutate.ts";
import { handleModule, type Seed } from "./seeds.ts";
import { CASE_BOUND_MS, Hang, judge, newTally, within, type Tally } from "./verdict.ts";
import { generateModule } from "./wasm-gen.ts";
import { binaryToWat, watToBinary } from "./wat.ts";

export type DeployCase =
  | { from: "mutant"; seed: number; core: boolean; mutations: Mutation[]; request: string }
  | { from: "random"; language: "component" | "javy"; bytes: Uint8Array; request: string }
  /** A generated valid module (mutated or not) in place of a component's own core module. */
  | { from: "spliced"; seed: number; gen: number; mutations: Mutation[] | null; request: string };

/** Requests that reach different paths of the seeds (empty, long enough to grow, "x" exits). */
export const requestArb = fc.oneof(
  fc.constantFrom("", "hello", "x", "héllo wörld", "a".repeat(5000)),
  fc.string({ maxLength: 64 }),
);

export function deployCaseArb(seeds: Seed[], generated: boolean): fc.Arbitrary<DeployCase> {
  const withCore = seeds.map((s, i) => (s.core ? i : -1)).filter((i) => i >= 0);
  const arbs: fc.WeightedArbitrary<DeployCase>[] = [
    {
      weight: 10,
      arbitrary: fc.record({
        from: fc.constant("mutant" as const),
        seed: fc.nat({ max: seeds.length - 1 }),
        core: fc.boolean(),
        mutations: mutationsArb,
        request: requestArb,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ from: fc.constant("random" as const), language: fc.constantFrom("component" as const, "javy" as const), bytes: randomBinaryArb, request: requestArb }),
    },
  ];
  // Modules that validate (generated), spliced into a component in place of its own: the meter
  // and the runtime see valid code they have never seen, rather than a parse error.
  if (generated && withCore.length > 0) {
    arbs.push({
      weight: 4,
      arbitrary: fc.record({
        from: fc.constant("spliced" as const),
        seed: fc.constantFrom(...withCore),
        gen: fc.nat(),
        mutations: fc.option(mutationsArb, { freq: 2 }) as fc.Arbitrary<Mutation[] | null>,
        request: requestArb,
      }),
    });
  }
  return fc.oneof(...arbs);
}

/** The bytes and language a case deploys. */
export function materialize(seeds: Seed[], c: DeployCase): { bytes: Uint8Array; language: Language } {
  if (c.from === "random") return { bytes: c.bytes, language: c.language };
  const seed = seeds[c.seed % seeds.length]!;
  if (c.from === "spliced") {
    // A fifth use exceptions, which the meter refuses: the refusal path stays covered.
    const module = watToBinary(generateModule(c.gen, { world: "solo", exceptions: c.gen % 5 === 0 }).wat);
    return { bytes: spliceCore(seed.bytes, seed.core!.offset, c.mutations ? applyMutations(module, c.mutations) : module), language: "component" };
  }
  if (c.core && seed.core) return { bytes: spliceCore(seed.bytes, seed.core.offset, applyMutations(seed.core.bytes, c.mutations)), language: "component" };
  return { bytes: applyMutations(seed.bytes, c.mutations), language: seed.kind };
}

/** Limits small enough that a runaway guest is stopped quickly. */
export const FUZZ_LIMITS = { fuel: 20_000_000, deadlineMs: 3_000, memoryBytes: 16 * 1024 * 1024 };

let serial = 0;

/** Deploys one case, calls it if it deployed, kills it; judges every step. Throws Crash or Hang. */
export async function runDeployCase(host: Host, tally: Tally, bytes: Uint8Array, language: Language, request: string): Promise<void> {
  tally.cases++;
  const service = `f${serial++}`;
  try {
    await within(CASE_BOUND_MS, `deploy+call of a ${language} (${bytes.length} bytes)`, async () => {
      try {
        await host.deploy({ tenant: "fuzz", service, source: bytes, language, limits: FUZZ_LIMITS });
      } catch (err) {
        judge(tally, err, "deploy");
        return;
      }
      try {
        await host.call("fuzz", service, request);
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
}

export interface Failure {
  error: string;
  language: Language;
  base64: string;
  /** The module as text (for a component, its core module exporting handle), when wabt reads it. */
  wat?: string;
}

/** A reproducer: the bytes (base64) and, when wabt can read them, their text. */
export function describeFailure(err: unknown, bytes: Uint8Array, language: Language): Failure {
  let module: Uint8Array = bytes;
  if (language === "component") {
    try {
      module = handleModule(bytes).bytes;
    } catch { /* no readable core module: print none */ }
  }
  const wat = module === bytes && language === "component" ? undefined : binaryToWat(module);
  return { error: err instanceof Error ? err.message : String(err), language, base64: Buffer.from(bytes).toString("base64"), ...(wat && wat.length < 20_000 ? { wat } : {}) };
}

/** A failure's message with numbers blanked: failures that differ only in offsets count as one. */
export function failureKind(message: string): string {
  return message.split("\n")[0]!.replace(/\d+/g, "N").slice(0, 200);
}

export interface DeployFuzzOptions {
  seed: number;
  runs: number;
  /** Also splice generated valid modules (test/fuzz/wasm-gen.ts) into components. */
  generated?: boolean;
  /** "assert" stops at the first failure and shrinks it; "count" keeps going and keeps one reproducer per kind. */
  mode?: "assert" | "count";
}

/** Runs `runs` cases from `seed` against `host`; returns the tally and the failures. */
export async function fuzzDeploys(host: Host, seeds: Seed[], options: DeployFuzzOptions): Promise<{ tally: Tally; failures: Failure[]; error?: string }> {
  const tally = newTally();
  const kinds = new Map<string, Failure>();
  let last: Failure | undefined;
  const counting = options.mode === "count";
  try {
    await fc.assert(
      fc.asyncProperty(deployCaseArb(seeds, options.generated ?? true), async (c) => {
        const { bytes, language } = materialize(seeds, c);
        try {
          await runDeployCase(host, tally, bytes, language, c.request);
        } catch (err) {
          last = describeFailure(err, bytes, language);
          if (counting) {
            const kind = failureKind(last.error);
            if (!kinds.has(kind)) kinds.set(kind, last);
            return;
          }
          // A hang leaves work running: shrinking on top of it would only pile more up.
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
