// What a running guest may ask of the host, one method per WIT import (and the WASI clock and
// random of Javy modules). Each answer is a WIT value: failures are `{ ok: false, kind, message }`,
// never exceptions thrown into the guest. The worker's env is where capabilities are checked.
import type { LogLevel, WitErrorKind } from "../wasm/index.ts";

export type WitResult<T> = { ok: true; value: T } | { ok: false; kind: WitErrorKind; message: string };

export interface GuestEnv {
  log(level: LogLevel, message: string): void;
  kvGet(key: string): WitResult<string | undefined>;
  kvSet(key: string, value: string): WitResult<void>;
  kvDelete(key: string): WitResult<void>;
  kvKeys(prefix: string): WitResult<string[]>;
  /** Keys in the service's kv (what a keys() call scans, charged before it runs). */
  kvCount(): number;
  secretGet(name: string): WitResult<string>;
  /**
   * Calls another service of the tenant in this worker. `meter` is the caller's fuel: the callee
   * runs with at most what is left, and what it used is charged to it.
   */
  serviceCall(service: string, request: string, meter: FuelMeter): WitResult<string>;
  emit(kind: string, data: string): WitResult<void>;
  nextU64(): bigint;
  /** Wall-clock milliseconds since the epoch. */
  nowMs(): bigint;
  /** A monotonic clock, in nanoseconds. */
  monotonicNs(): bigint;
  /** Fills `target` with random bytes (WASI random_get). */
  randomFill(target: Uint8Array): void;
}

/** The caller's fuel counter as a nested call sees it (runtime/counters.ts Counters). */
export interface FuelMeter {
  readonly fuelLeft: bigint;
  /** Takes units; throws OutOfFuel when that leaves the counter below zero. */
  charge(units: number): void;
}

export const ok = <T>(value: T): WitResult<T> => ({ ok: true, value });
export const fail = <T>(kind: WitErrorKind, message: string): WitResult<T> => ({ ok: false, kind, message });
