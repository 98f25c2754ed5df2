// What a worker needs of a running guest, whichever way it is bound.
import type { CallOutcome } from "./sandbox.ts";

export interface GuestInstance {
  /** Runs handle(request) with `fuelLimit` units; a trapped instance must not be called again. */
  call(request: string, fuelLimit: number, maxResponseBytes: number): CallOutcome;
  readonly memoryBytes: number;
}
