// A circuit breaker per service. Over a failure rate within a window it opens: calls are refused
// at once (UNAVAILABLE, details.reason "circuit-open", retryAfterMs) instead of queueing behind a
// service that fails anyway. After a cool-down it half-opens and lets a few trial calls run; as
// many successes as trials close it, one failure opens it again for another cool-down.
//
// What counts as a failure: the service could not answer — a trap (GUEST_TRAP), running out of
// fuel, memory or time (FUEL_EXHAUSTED, MEMORY_LIMIT, DEADLINE_EXCEEDED), a fault of the host's
// code under it (INTERNAL) or its worker dying under the call (UNAVAILABLE). A GUEST_ERROR is the
// guest answering "no" to a request it understood: it counts as a call that worked. Calls refused
// before they ran (quotas, admission, supervision's back-off, bad requests) are not seen at all.
//
// How it differs from crash supervision (services/supervision.ts): supervision looks at crashes
// in a row (traps, a start that fails), backs off re-creating the instance and, past a limit,
// marks the service failed until a swap or a redeploy. The breaker looks at the failure *rate* of
// any kind above, refuses fast, and closes by itself. A service whose every call traps meets
// supervision first (3 crashes in a row, long before the breaker's minCalls); the breaker catches
// what has no crash loop: calls that run out of fuel or time, or fail half of the time. They
// stack: supervision's count of crashes in a row goes on through the breaker's trial calls.
//
// Cost per call while closed: a division and two counter increments, on the worker's own clock
// stamp (the window's sum is only taken on a failure).
import { SoloError, type ErrorCode } from "../errors.ts";

export interface BreakerSettings {
  /** False: no breaker (nothing counted, nothing refused). */
  enabled: boolean;
  /** The window (ms) the failure rate is taken over. */
  windowMs: number;
  /** Calls the window must hold before the rate can open it. */
  minCalls: number;
  /** Share of the window's calls that opens it (0-1). */
  failureRate: number;
  /** How long (ms) it stays open before it lets trial calls through. */
  coolDownMs: number;
  /** Trial calls when half-open: at most this many at once, and this many successes close it. */
  halfOpenCalls: number;
}

export const DEFAULT_BREAKER: BreakerSettings = { enabled: true, windowMs: 10_000, minCalls: 20, failureRate: 0.5, coolDownMs: 5_000, halfOpenCalls: 3 };

/** The failures the breaker counts (see the top of this file). */
export const BREAKER_FAILURES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["GUEST_TRAP", "FUEL_EXHAUSTED", "MEMORY_LIMIT", "DEADLINE_EXCEEDED", "INTERNAL", "UNAVAILABLE"]);

export function breakerSettings(given: Partial<BreakerSettings> | undefined): BreakerSettings {
  const s = { ...DEFAULT_BREAKER, ...given };
  if (typeof s.enabled !== "boolean") throw new SoloError("INVALID_ARGUMENT", "breaker.enabled must be true or false", { field: "breaker.enabled" });
  for (const k of ["windowMs", "minCalls", "coolDownMs", "halfOpenCalls"] as const) {
    if (!Number.isSafeInteger(s[k]) || s[k] < 1) throw new SoloError("INVALID_ARGUMENT", `breaker.${k} must be a positive whole number; got ${String(s[k])}`, { field: `breaker.${k}` });
  }
  if (typeof s.failureRate !== "number" || !(s.failureRate > 0 && s.failureRate <= 1)) {
    throw new SoloError("INVALID_ARGUMENT", `breaker.failureRate must be a number above 0 and at most 1; got ${String(s.failureRate)}`, { field: "breaker.failureRate" });
  }
  return s;
}

export type CircuitState = "closed" | "open" | "half-open";

/** A service's breaker as status shows it. */
export interface CircuitStatus {
  state: CircuitState;
  /** Calls and counted failures in the current window (closed), or trial successes so far (half-open). */
  calls: number;
  failures: number;
  /** How many times it has opened since the service was deployed or last swapped. */
  opens: number;
  /** ISO time it last opened (open and half-open). */
  openedAt?: string;
  /** Open: ms until trial calls are let through. */
  retryAfterMs?: number;
}

/** What changed when a result was recorded: the caller writes the event. */
export interface CircuitChange {
  state: "open" | "closed";
  /** Opened: the window's figures, or the failed trial. */
  calls: number;
  failures: number;
  code?: ErrorCode;
  message?: string;
  /** Opened again after a failed trial (not from closed). */
  reopened?: boolean;
}

const BUCKETS = 10;

export class CircuitBreaker {
  state: CircuitState = "closed";
  /** Open: when it half-opens (monotonic ms, the clock every `now` here is on). */
  private until = 0;
  /** Epoch ms it last opened, for status. */
  private openedAt = 0;
  private opens = 0;
  /** Half-open: trial calls running, and trial successes. */
  private trials = 0;
  private passed = 0;
  /** The window: BUCKETS buckets of windowMs / BUCKETS, each stamped with its bucket number. */
  private readonly slot = new Float64Array(BUCKETS).fill(-1);
  private readonly calls = new Uint32Array(BUCKETS);
  private readonly failures = new Uint32Array(BUCKETS);
  private readonly bucketMs: number;

  constructor(private readonly s: BreakerSettings, private readonly service: string) {
    this.bucketMs = Math.max(1, Math.ceil(s.windowMs / BUCKETS));
  }

  /**
   * Not closed (call it only then): may a call run now? "trial" when it may (pass trial = true to
   * record, or release it if it never runs); else the refusal. `now`: monotonic ms, as for record.
   */
  check(now: number): SoloError | "trial" {
    if (this.state === "open") {
      if (now < this.until) return this.refusal(this.until - now);
      this.state = "half-open";
      this.trials = 0;
      this.passed = 0;
    }
    if (this.trials >= this.s.halfOpenCalls) return this.refusal(Math.min(this.s.coolDownMs, 100));
    this.trials++;
    return "trial";
  }

  /** A trial call that never ran (refused after check let it through): its place goes back. */
  release(): void {
    if (this.state === "half-open" && this.trials > 0) this.trials--;
  }

  /** A call answered (`code` when it failed); `trial` as check answered. */
  record(code: ErrorCode | undefined, trial: boolean, now: number): CircuitChange | undefined {
    if (!this.s.enabled) return undefined;
    const failed = code !== undefined && BREAKER_FAILURES.has(code);
    if (this.state === "half-open") {
      // Answers of calls let in before it opened say nothing about the trial.
      if (!trial) return undefined;
      this.trials--;
      if (failed) {
        this.open(now);
        return { state: "open", calls: this.passed + 1, failures: 1, code, reopened: true };
      }
      if (++this.passed < this.s.halfOpenCalls) return undefined;
      const trials = this.passed;
      this.close();
      return { state: "closed", calls: trials, failures: 0 };
    }
    if (this.state === "open") return undefined;
    const b = Math.floor(now / this.bucketMs);
    const i = b % BUCKETS;
    if (this.slot[i] !== b) {
      this.slot[i] = b;
      this.calls[i] = 0;
      this.failures[i] = 0;
    }
    this.calls[i]!++;
    if (!failed) return undefined;
    this.failures[i]!++;
    let calls = 0;
    let failures = 0;
    for (let j = 0; j < BUCKETS; j++) {
      if (this.slot[j]! > b - BUCKETS) {
        calls += this.calls[j]!;
        failures += this.failures[j]!;
      }
    }
    if (calls < this.s.minCalls || failures < calls * this.s.failureRate) return undefined;
    this.open(now);
    return { state: "open", calls, failures, code };
  }

  /** Closed again (a swap, a rollback): true if it was not closed already. */
  reset(): boolean {
    const was = this.state !== "closed";
    this.close();
    this.opens = 0;
    return was;
  }

  status(now: number): CircuitStatus {
    if (this.state === "closed") {
      let calls = 0;
      let failures = 0;
      const b = Math.floor(now / this.bucketMs);
      for (let j = 0; j < BUCKETS; j++) {
        if (this.slot[j]! > b - BUCKETS) {
          calls += this.calls[j]!;
          failures += this.failures[j]!;
        }
      }
      return { state: "closed", calls, failures, opens: this.opens };
    }
    // An open breaker whose cool-down is over is half-open from the next call on.
    const openedAt = new Date(this.openedAt).toISOString();
    if (this.state === "open" && now < this.until) return { state: "open", calls: 0, failures: 0, opens: this.opens, openedAt, retryAfterMs: this.until - now };
    return { state: "half-open", calls: this.passed, failures: 0, opens: this.opens, openedAt };
  }

  private open(now: number): void {
    this.state = "open";
    this.until = now + this.s.coolDownMs;
    this.openedAt = Date.now();
    this.opens++;
    this.trials = 0;
    this.passed = 0;
  }

  private close(): void {
    this.state = "closed";
    this.until = 0;
    this.trials = 0;
    this.passed = 0;
    this.slot.fill(-1);
  }

  private refusal(retryAfterMs: number): SoloError {
    return new SoloError(
      "UNAVAILABLE",
      `service ${this.service}'s circuit breaker is open: too many of its recent calls failed (traps, fuel, memory or time); it lets trial calls through after its cool-down; retry after details.retryAfterMs, or swap in a fixed version (a swap closes it)`,
      { service: this.service, reason: "circuit-open", retryAfterMs: Math.max(1, Math.ceil(retryAfterMs)) },
    );
  }
}
