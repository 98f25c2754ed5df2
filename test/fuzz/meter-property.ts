// The pure meter property, for any bytes: meter() returns or throws a SoloError with a known code
// (never anything else), and when the input is a valid module and meter() returns, its output is
// a valid module that keeps every export of the input and adds the three counters. No host, no
// worker: ~0.1-2 ms a case, so the bench runs it a hundred thousand times.
import fc from "fast-check";
import { ERROR_CODES, SoloError } from "../../host/index.ts";
import { DEFAULT_METER_SETTINGS, meter, type MeterSettings } from "../../host/wasm/index.ts";
import { applyMutations, mutationsArb, randomBinaryArb } from "./mutate.ts";
import { generateModule } from "./wasm-gen.ts";
import { watToBinary } from "./wat.ts";

export interface MeterTally {
  cases: number;
  /** Inputs that WebAssembly.validate accepts. */
  valid: number;
  metered: number;
  errors: Record<string, number>;
  samples: Record<string, string>;
}

export function newMeterTally(): MeterTally {
  return { cases: 0, valid: 0, metered: 0, errors: {}, samples: {} };
}

const SHARED: MeterSettings = { ...DEFAULT_METER_SETTINGS, sharedCounters: true };

/** Checks one input; throws an Error describing the violation. */
export function checkMeter(tally: MeterTally, bytes: Uint8Array, shared: boolean): void {
  tally.cases++;
  const valid = WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>);
  if (valid) tally.valid++;
  let out: Uint8Array<ArrayBuffer>;
  try {
    out = meter(bytes, shared ? SHARED : DEFAULT_METER_SETTINGS).bytes;
  } catch (err) {
    if (!(err instanceof SoloError) || !(ERROR_CODES as readonly string[]).includes(err.code) || err.code === "INTERNAL") {
      throw new Error(`meter threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} (input ${valid ? "valid" : "invalid"})`);
    }
    tally.errors[err.code] = (tally.errors[err.code] ?? 0) + 1;
    tally.samples[err.code] ??= err.message.slice(0, 200);
    return;
  }
  tally.metered++;
  if (!valid) return; // garbage in may be garbage out: the engine refuses it next (VALIDATION_FAILED)
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(out);
  } catch (err) {
    throw new Error(`a valid module metered${shared ? " (shared counters)" : ""} does not validate: ${(err as Error).message}`);
  }
  const before = WebAssembly.Module.exports(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>)).map((e) => `${e.name}:${e.kind}`);
  const after = new Set(WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`));
  for (const e of before) if (!after.has(e)) throw new Error(`metering dropped export ${e}`);
  if (!shared) for (const g of ["solo_fuel:global", "solo_memory_budget:global", "solo_grow_failed:global"]) if (!after.has(g)) throw new Error(`metered module lacks ${g}`);
}

export interface MeterCase {
  source: "generated" | "random" | "seed";
  seed: number;
  mutations: Parameters<typeof applyMutations>[1] | null;
  random?: Uint8Array;
  shared: boolean;
}

/** Generated valid modules (mutated or not), mutated seed modules, random bytes. */
export function meterCaseArb(seedCount: number): fc.Arbitrary<MeterCase> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ source: fc.constant("generated" as const), seed: fc.nat(), mutations: fc.option(mutationsArb, { freq: 2 }), shared: fc.boolean() }) },
    { weight: 3, arbitrary: fc.record({ source: fc.constant("seed" as const), seed: fc.nat({ max: Math.max(0, seedCount - 1) }), mutations: mutationsArb, shared: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ source: fc.constant("random" as const), seed: fc.constant(0), mutations: fc.constant(null), random: randomBinaryArb, shared: fc.boolean() }) },
  );
}

/** The bytes of a case; `modules` are the seed core modules. */
export function meterInput(c: MeterCase, modules: Uint8Array[]): Uint8Array {
  if (c.source === "random") return c.random!;
  const base = c.source === "generated" ? watToBinary(generateModule(c.seed, { world: c.seed % 2 ? "solo" : "plain", exceptions: c.seed % 5 === 0 }).wat) : modules[c.seed % modules.length]!;
  return c.mutations ? applyMutations(base, c.mutations) : base;
}
