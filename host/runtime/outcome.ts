// What became of one guest run, decided in one place for every runner (single-module, jco glue,
// javy): the host's own counters first (MEMORY_LIMIT, FUEL_EXHAUSTED are never the guest's to
// hide), then what was thrown. Anything thrown while guest code ran is the guest's (GUEST_TRAP),
// except a failure of the host's own import code (HostFault, INTERNAL) and a SoloError.
import { SoloError, type ErrorCode } from "../errors.ts";
import type { Counters } from "./counters.ts";
import { located, withoutAbortPlace, type GuestStack } from "./guest-stack.ts";

export type CallOutcome =
  | { ok: true; output: string; fuel: number; memoryBytes: number }
  | { ok: false; code: ErrorCode; message: string; details?: Record<string, unknown>; fuel: number; memoryBytes: number; trapped: boolean };

/** A failure of the host's own code inside a guest's import: not the guest's fault. */
export class HostFault extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** The guest handed the host something impossible (a pointer outside its memory, bad lengths). */
export class GuestFault extends Error {}

/** Longest message a failure carries: a guest's log line ends up in it. */
export const MAX_FAILURE_MESSAGE = 2048;

export interface RunState {
  counters: Counters;
  /** Fuel the run started with. */
  fuelLimit: number;
  memoryLimitBytes: number;
  memoryBytes: number;
  /** The guest's last error-level log line (AssemblyScript's abort logs its message there). */
  lastErrorLog?: string;
  /** Starting (instantiation and start function) or serving a call. */
  phase: "start" | "call";
  /** Maps what was thrown to the guest's source (guest-stack.ts); run only for a trap. */
  trace?: (thrown: unknown) => GuestStack | undefined;
}

export interface Failure {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export function classify(thrown: unknown, s: RunState): Failure {
  const starting = s.phase === "start" ? " while starting" : "";
  if (s.counters.growFailed) {
    return { code: "MEMORY_LIMIT", message: `guest tried to grow its memory past ${s.memoryLimitBytes} bytes${starting} (it has ${s.memoryBytes}); use less memory or raise limits.memoryBytes`, details: { limitBytes: s.memoryLimitBytes, memoryBytes: s.memoryBytes } };
  }
  if (s.counters.fuelLeft < 0n) {
    const what = s.phase === "start" ? "to start (instantiation and start function)" : "for this call";
    return { code: "FUEL_EXHAUSTED", message: `guest used all ${s.fuelLimit} units of fuel ${what}; make it do less work or raise limits.fuel`, details: { fuelLimit: s.fuelLimit } };
  }
  if (thrown instanceof SoloError) return { code: thrown.code, message: clip(thrown.message), ...(thrown.details ? { details: thrown.details } : {}) };
  if (thrown instanceof HostFault) return { code: "INTERNAL", message: clip(`host failed during the call: ${thrown.message}`) };
  const text = thrown instanceof Error ? thrown.message : String(thrown);
  let reason = text;
  if (thrown instanceof RangeError && /call stack/i.test(text)) reason = "stack overflow";
  else if (thrown instanceof WebAssembly.Exception) reason = "uncaught WebAssembly exception";
  else if (thrown instanceof GuestFault) reason = text;
  const where = trace(thrown, s);
  const log = s.lastErrorLog && where?.at ? withoutAbortPlace(s.lastErrorLog) : s.lastErrorLog;
  const message = `guest trapped${starting}: ${log ? `${log} (${reason})` : reason}`;
  if (!where) return { code: "GUEST_TRAP", message: clip(message) };
  // The first line names the guest's own line; details.stack has every frame that maps.
  return { code: "GUEST_TRAP", message: clip(where.at ? located(where.at, message) : message), details: { stack: where.frames } };
}

/** The trap's stack in the guest's source; a map that cannot be read leaves the failure as it was. */
function trace(thrown: unknown, s: RunState): GuestStack | undefined {
  if (!s.trace) return undefined;
  try {
    return s.trace(thrown);
  } catch {
    return undefined;
  }
}

export function clip(text: string, max = MAX_FAILURE_MESSAGE): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (clipped, ${text.length} chars)`;
}

/**
 * A failed run as a call's outcome. A run that trapped is charged its whole fuel limit: functions
 * keep the counter in a local and a trap skips its last write-back, so the counter may say less
 * than the guest did (charging that would let a guest work hard and trap to pay little).
 */
export function failed(f: Failure, fuel: number, memoryBytes: number, trapped: boolean): CallOutcome {
  return f.details === undefined ? { ok: false, code: f.code, message: f.message, fuel, memoryBytes, trapped } : { ok: false, code: f.code, message: f.message, details: f.details, fuel, memoryBytes, trapped };
}

/** A start failure as the SoloError a deploy (or a call that re-creates the instance) answers. */
export function startError(thrown: unknown, s: Omit<RunState, "phase">): SoloError {
  const f = classify(thrown, { ...s, phase: "start" });
  return new SoloError(f.code, f.message, f.details);
}
