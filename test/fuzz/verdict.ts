// The rule every fuzz case is judged by: it ends in a result or in a SoloError whose code is in
// ERROR_CODES, within a wall-clock bound, with no rejection left unhandled. Anything else is a
// crash (a foreign error, an unknown code), a hang, or an escaped failure, and fails the run.
import { ERROR_CODES, SoloError } from "../../host/index.ts";

/** Per deploy+call. The host's own deadline watchdog stops a call long before (5 s default). */
export const CASE_BOUND_MS = 30_000;

export class Crash extends Error {
  override readonly name = "Crash";
}

export class Hang extends Error {
  override readonly name = "Hang";
}

export interface Tally {
  cases: number;
  results: number;
  errors: Record<string, number>;
  crashes: number;
  hangs: number;
  /** One message per code seen, so a run shows what each code said. */
  samples: Record<string, string>;
}

export function newTally(): Tally {
  return { cases: 0, results: 0, errors: {}, crashes: 0, hangs: 0, samples: {} };
}

/**
 * Counts a thrown value as a SoloError code, or throws Crash when it is anything else. INTERNAL
 * is the host blaming itself: for input a user chose (fuzzed bytes, sources) it means the host
 * failed to say what is wrong, so it counts as a crash too.
 */
export function judge(tally: Tally, err: unknown, phase: string): string {
  if (!(err instanceof SoloError) || !(ERROR_CODES as readonly string[]).includes(err.code)) {
    tally.crashes++;
    const what = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ""}` : String(err);
    throw new Crash(`${phase} threw something other than a SoloError with a known code: ${what}`);
  }
  if (err.code === "INTERNAL") {
    tally.crashes++;
    throw new Crash(`${phase} failed with INTERNAL (the host blamed itself for what the guest did): ${err.message}`);
  }
  tally.errors[err.code] = (tally.errors[err.code] ?? 0) + 1;
  tally.samples[err.code] ??= `${phase}: ${err.message.slice(0, 300)}`;
  return err.code;
}

/** Runs `work`, failing with Hang if it has not settled within `ms`. */
export async function within<T>(ms: number, what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Hang(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work(), bound]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Records unhandled rejections and uncaught exceptions instead of letting Node print and exit,
 * so a run can report them (each one fails the run). Call once per process.
 */
export function watchProcess(): { escaped: string[] } {
  const escaped: string[] = [];
  process.on("unhandledRejection", (reason) => {
    escaped.push(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
  });
  process.on("uncaughtException", (err) => {
    escaped.push(`uncaught exception: ${err.stack ?? String(err)}`);
  });
  return { escaped };
}
