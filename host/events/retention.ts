// The retention timer: applies a policy every intervalMs. A failed run is reported to onError
// (default: one line on stderr) and counted, never swallowed: a log that silently stops being
// compacted grows without bound. Runs never overlap; a run still going when the next is due is skipped.
import { SoloError, toSoloError } from "../errors.ts";
import type { EventStore, Retention } from "./event-store.ts";

export interface RetentionPolicy extends Retention {
  /** Default 60 s. */
  intervalMs?: number;
  /** Called with each failed run's error; default: a line on stderr. */
  onError?: (err: SoloError) => void;
}

export interface RetentionTimer {
  /** Runs that failed so far. */
  readonly failures: number;
  stop(): void;
}

export function startRetention(store: EventStore, policy: RetentionPolicy): RetentionTimer {
  let running = false;
  const state = {
    failures: 0,
    stop: () => clearInterval(timer),
  };
  const onError = policy.onError ?? ((err: SoloError) => process.stderr.write(`solo: event retention failed (${err.code}): ${err.message}\n`));
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    store.compact(policy).catch((err) => {
      state.failures++;
      try {
        onError(toSoloError(err));
      } catch {
        // A throwing handler must not become an unhandled rejection that ends the process.
      }
    }).finally(() => (running = false));
  }, policy.intervalMs ?? 60_000);
  timer.unref();
  return state;
}
