// The seed every fuzz run starts from: fixed by default so a failure reproduces; FUZZ_SEED
// overrides it (a number). Printed by every run.
export const DEFAULT_FUZZ_SEED = 20240611;

export function fuzzSeed(): number {
  const env = process.env.FUZZ_SEED;
  if (env === undefined || env === "") return DEFAULT_FUZZ_SEED;
  const n = Number(env);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got ${env}`);
  return n | 0;
}
