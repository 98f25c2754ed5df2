// events.emit inside the worker: the checks a guest's emit answers at once (kind, size, rate) and
// the emits each call collects. The worker returns a successful call's emits with its result and
// the host records each as a guest_event; a failed call's emits are dropped, like its kv writes
// (what a guest announces should not outlive the work that failed). Loaded by the guest worker.
import { CAPABILITY_NAME } from "../capability/guest.ts";
import { fail, ok, type WitResult } from "./guest-env.ts";

/** UTF-8 bytes of one emit's data. */
export const MAX_EMIT_DATA_BYTES = 4096;
/** Emits one service may make at once (and in one call), then EMITS_PER_SECOND. */
export const EMIT_BURST = 100;
export const EMITS_PER_SECOND = 50;

/** A token bucket per service: bounds the guest_event rows one guest can add to its tenant's log. */
export class EmitBudget {
  private tokens = EMIT_BURST;
  private at = performance.now();

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(EMIT_BURST, this.tokens + ((now - this.at) / 1000) * EMITS_PER_SECOND);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/** What emit needs of a worker's slot. */
export interface EmitSlot {
  /** The running call's emits; undefined outside a call (top-level code cannot emit). */
  emits: [string, string][] | undefined;
  /** Emits refused by the budget in the running call. */
  emitsRefused: number;
  readonly emitBudget: EmitBudget;
}

const shown = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);

/** The guest's events.emit(kind, data), for a service granted `emit`. */
export function emitFrom(slot: EmitSlot, kind: string, data: string): WitResult<void> {
  if (!CAPABILITY_NAME.test(kind)) return fail("invalid", `event kind ${shown(kind)} is malformed: use 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit`);
  // UTF-8 takes 1 to 3 bytes per UTF-16 unit: the length bounds the size from both sides.
  if (data.length > MAX_EMIT_DATA_BYTES || (data.length * 3 > MAX_EMIT_DATA_BYTES && Buffer.byteLength(data) > MAX_EMIT_DATA_BYTES)) {
    return fail("limit-exceeded", `event data is over ${MAX_EMIT_DATA_BYTES} bytes of UTF-8 (at least ${data.length}); emit less, or keep the bulk in kv and emit its key`);
  }
  const emits = slot.emits;
  if (!emits) return fail("unavailable", "events.emit works only inside handle, not in top-level (start) code");
  if (emits.length >= EMIT_BURST || !slot.emitBudget.take()) {
    slot.emitsRefused++;
    return fail("limit-exceeded", `this service emits too fast: at most ${EMIT_BURST} events per call and per burst, then ${EMITS_PER_SECOND} a second; emit fewer (batch them into one event's data)`);
  }
  emits.push([kind, data]);
  return ok(undefined);
}
