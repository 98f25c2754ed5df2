// Supervision of a service whose instance keeps crashing. A trapped instance is dropped by its
// worker and re-created for the next call with the committed kv, which is all one crash needs.
// A crash loop (every call traps, or the start code fails each time it is re-created) would
// otherwise re-run the start code for every call forever: after crashesBeforeBackoff crashes
// in a row, calls are refused for a while (exponential, capped), and after crashLimit the
// service is marked failed until a swap or a redeploy. One successful call resets it all.
import { SoloError, type ErrorCode } from "../errors.ts";
import type { CrashState, ServiceRecord } from "./service-record.ts";

export interface SupervisionSettings {
  /** Crashes in a row that are simply re-created; from the next one on, calls back off. */
  crashesBeforeBackoff: number;
  /** Crashes in a row after which the service is marked failed. */
  crashLimit: number;
  /** The first back-off; each crash after doubles it, up to backoffCapMs. */
  backoffBaseMs: number;
  backoffCapMs: number;
}

export const DEFAULT_SUPERVISION: SupervisionSettings = { crashesBeforeBackoff: 3, crashLimit: 10, backoffBaseMs: 100, backoffCapMs: 10_000 };
const LAST_KEPT = 5;

/** Settings given at Host.open over the defaults, checked. */
export function supervisionSettings(given: Partial<SupervisionSettings> | undefined): SupervisionSettings {
  const s = { ...DEFAULT_SUPERVISION, ...given };
  for (const [k, v] of Object.entries(s)) {
    if (!Number.isInteger(v) || v < (k === "crashesBeforeBackoff" ? 0 : 1)) throw new SoloError("INVALID_ARGUMENT", `supervision.${k} must be a positive integer`, { field: `supervision.${k}` });
  }
  return s;
}

/** What counts as a crash: a trap (GUEST_TRAP), or an instance that could not start again. */
export function isCrash(code: ErrorCode, startFailed: boolean): boolean {
  return code === "GUEST_TRAP" || startFailed;
}

export function noCrashes(): CrashState {
  return { consecutive: 0, until: 0, last: [] };
}

/** How long (ms) to back off after `consecutive` crashes in a row; 0 for none. */
export function backoffMs(consecutive: number, s: SupervisionSettings): number {
  if (consecutive < s.crashesBeforeBackoff) return 0;
  return Math.min(s.backoffCapMs, s.backoffBaseMs * 2 ** Math.min(30, consecutive - s.crashesBeforeBackoff));
}

/** Counts a crash; answers "failed" when it was one too many. */
export function countCrash(rec: ServiceRecord, code: ErrorCode, message: string, now: number, s: SupervisionSettings): "failed" | undefined {
  const c = rec.crash;
  c.consecutive++;
  c.last.push({ code, message: message.length > 500 ? `${message.slice(0, 500)}...` : message, at: new Date(now).toISOString() });
  if (c.last.length > LAST_KEPT) c.last.shift();
  const wait = backoffMs(c.consecutive, s);
  c.until = wait > 0 ? now + wait : 0;
  return c.consecutive >= s.crashLimit ? "failed" : undefined;
}

/** The refusal a call gets while its service backs off; undefined when it may run. */
export function backingOff(rec: ServiceRecord, now: number): SoloError | undefined {
  const c = rec.crash;
  if (c.until === 0 || now >= c.until) return undefined;
  const last = c.last[c.last.length - 1];
  return new SoloError("UNAVAILABLE", `service ${rec.service} crashed ${c.consecutive} times in a row (last: ${last?.code}: ${last?.message}); Solo waits before re-creating it again; retry after ${c.until - now} ms, or swap in a fixed version`, {
    tenant: rec.tenant, service: rec.service, reason: "crash-loop", retryAfterMs: c.until - now, crashes: c.consecutive,
  });
}

/** The failure a crash-looping service is marked with. */
export function crashLoopFailure(rec: ServiceRecord): { code: ErrorCode; message: string } {
  const last = rec.crash.last[rec.crash.last.length - 1];
  return { code: last?.code ?? "GUEST_TRAP", message: `it crashed ${rec.crash.consecutive} times in a row (last: ${last?.message ?? "unknown"})` };
}
