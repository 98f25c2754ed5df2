// What a worker needs of a running guest, whichever way it is bound.
import { SoloError } from "../errors.ts";
import type { CallOutcome } from "./outcome.ts";

export interface GuestInstance {
  /**
   * Runs handle(request) with `fuelLimit` units; a trapped instance must not be called again.
   * `memoryCapBytes` (default: the instance's own limit) is the memory it may grow to in this call.
   */
  call(request: string, fuelLimit: number, maxResponseBytes: number, memoryCapBytes?: number): CallOutcome;
  readonly memoryBytes: number;
  /** Fuel its instantiation and start code used: a call that made the instance pays it on top of its own. */
  readonly startFuel: number;
  /** Which optional exports the guest has. */
  readonly lifecycle: { health: boolean; migrate: boolean };
  /**
   * Runs health() under fuelLimit (and memoryCapBytes), metered like a call; ok with output ""
   * when it succeeded or when the guest has no health export. The guest's error is GUEST_ERROR
   * with its text; a trap, fuel or memory are classified as for call.
   */
  health(fuelLimit: number, memoryCapBytes?: number): CallOutcome;
  /** Runs migrate(fromVersion) likewise (fromVersion: a u32); ok when absent. */
  migrate(fromVersion: number, fuelLimit: number, memoryCapBytes?: number): CallOutcome;
  /**
   * The instance is dropped for good: what it holds for reuse (pooled memories) goes back.
   * `whole`: it made room under the live cap, so its memories are kept however much of them
   * zeroing makes resident (memory-pool.ts).
   */
  release?(whole?: boolean): void;
}

/** migrate's argument is a WIT u32: anything else is the host's mistake, refused before guest code runs. */
export function checkFromVersion(fromVersion: number): void {
  if (!Number.isInteger(fromVersion) || fromVersion < 0 || fromVersion > 0xffff_ffff) {
    throw new SoloError("INVALID_ARGUMENT", `migrate's fromVersion must be an integer from 0 to ${0xffff_ffff}; got ${fromVersion}`, { field: "fromVersion" });
  }
}

/** The answer of an optional export the guest does not have: success, nothing run, nothing charged. */
export function absent(memoryBytes: number): CallOutcome {
  return { ok: true, output: "", fuel: 0, memoryBytes };
}
