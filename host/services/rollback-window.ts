// The watch over a new version right after a swap: within the window, calls that trap or run out
// of fuel, memory or time (and failed health checks) count against it, and past the failure rate
// Solo switches back to the previous version by itself. Handled failures (GUEST_ERROR) and
// refusals before a call ran are the caller's business, not a sign of bad code: not counted.
import { SoloError, type ErrorCode } from "../errors.ts";
import type { RollbackWindow, SwapRequest } from "./service-record.ts";

export const DEFAULT_ROLLBACK_WINDOW_MS = 30_000;
export const MAX_ROLLBACK_WINDOW_MS = 24 * 3600_000;
export const DEFAULT_MAX_FAILURE_RATE = 0.1;
/** How often the window runs the health check (the guest's export, or the swap's request). */
export const HEALTH_INTERVAL_MS = 1000;

const COUNTED = new Set<ErrorCode>(["GUEST_TRAP", "FUEL_EXHAUSTED", "MEMORY_LIMIT", "DEADLINE_EXCEEDED"]);

export interface WindowOptions {
  windowMs: number;
  maxFailureRate: number;
  health?: { request: string; expect: string };
}

/** The swap's window settings, checked; INVALID_ARGUMENT names the field. */
export function windowOptions(req: Pick<SwapRequest, "rollbackWindowMs" | "maxFailureRate" | "health">): WindowOptions {
  const windowMs = req.rollbackWindowMs ?? DEFAULT_ROLLBACK_WINDOW_MS;
  if (!Number.isInteger(windowMs) || windowMs < 0 || windowMs > MAX_ROLLBACK_WINDOW_MS) {
    throw new SoloError("INVALID_ARGUMENT", `rollbackWindowMs must be an integer from 0 (no window) to ${MAX_ROLLBACK_WINDOW_MS} (a day)`, { field: "rollbackWindowMs" });
  }
  const maxFailureRate = req.maxFailureRate ?? DEFAULT_MAX_FAILURE_RATE;
  if (typeof maxFailureRate !== "number" || !(maxFailureRate >= 0 && maxFailureRate < 1)) {
    throw new SoloError("INVALID_ARGUMENT", "maxFailureRate must be a number from 0 (roll back on the first failure) to below 1", { field: "maxFailureRate" });
  }
  const h = req.health;
  if (h !== undefined && (typeof h !== "object" || h === null || typeof h.request !== "string" || typeof h.expect !== "string")) {
    throw new SoloError("INVALID_ARGUMENT", "health must be { request: string, expect: string }: a request the new version must answer with expect", { field: "health" });
  }
  return { windowMs, maxFailureRate, ...(h ? { health: { request: h.request, expect: h.expect } } : {}) };
}

/**
 * Counts one call (or health check) of the new version; true when the window has seen too many
 * failures and the service must roll back. `failed` forces a failure whatever the code (a health check).
 */
export function observe(w: RollbackWindow, code: ErrorCode | undefined, failed = false): boolean {
  w.calls++;
  if (!failed && (code === undefined || !COUNTED.has(code))) return false;
  w.failures++;
  if (code) w.codes[code] = (w.codes[code] ?? 0) + 1;
  return w.failures / w.calls > w.maxFailureRate;
}
