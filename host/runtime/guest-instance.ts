// What a worker needs of a running guest, whichever way it is bound.
import type { CallOutcome } from "./sandbox.ts";

export interface GuestInstance {
  /**
   * Runs handle(request) with `fuelLimit` units; a trapped instance must not be called again.
   * `memoryCapBytes` (default: the instance's own limit) is the memory it may grow to in this call.
   */
  call(request: string, fuelLimit: number, maxResponseBytes: number, memoryCapBytes?: number): CallOutcome;
  readonly memoryBytes: number;
  /** Runs the guest's optional health export; ok when it has none. */
  health?(fuelLimit: number, memoryCapBytes?: number): CallOutcome;
  /** Runs the guest's optional migrate(fromVersion) export; ok when it has none. */
  migrate?(fromVersion: number, fuelLimit: number, memoryCapBytes?: number): CallOutcome;
}
