// Per-service limits: what one call and one instance may use. Set at deploy, defaults below.
import { SoloError } from "../errors.ts";

export interface ServiceLimits {
  /** Fuel units one call may use (one unit ~ one WebAssembly instruction). */
  fuel: number;
  /** Linear memory one instance may have, in bytes. */
  memoryBytes: number;
  /** Wall-clock time one call may run. */
  deadlineMs: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  /** Sum of key and value sizes in the service's kv store, in UTF-8 bytes (as stored). */
  kvMaxBytes: number;
  /** One key, in UTF-8 bytes. */
  kvMaxKeyBytes: number;
  /** One value, in UTF-8 bytes. */
  kvMaxValueBytes: number;
  /** Largest source (or component) accepted at deploy. */
  maxSourceBytes: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  fuel: 1_000_000_000,
  memoryBytes: 32 * 1024 * 1024,
  deadlineMs: 5_000,
  maxRequestBytes: 1024 * 1024,
  maxResponseBytes: 1024 * 1024,
  kvMaxBytes: 8 * 1024 * 1024,
  kvMaxKeyBytes: 512,
  kvMaxValueBytes: 1024 * 1024,
  maxSourceBytes: 1024 * 1024,
};

/** The most any service may ask for, whatever its deploy says. */
export const MAX_LIMITS: ServiceLimits = {
  fuel: 10_000_000_000,
  memoryBytes: 1024 * 1024 * 1024,
  deadlineMs: 600_000,
  maxRequestBytes: 64 * 1024 * 1024,
  maxResponseBytes: 64 * 1024 * 1024,
  kvMaxBytes: 1024 * 1024 * 1024,
  kvMaxKeyBytes: 4096,
  kvMaxValueBytes: 64 * 1024 * 1024,
  maxSourceBytes: 32 * 1024 * 1024,
};

/** Merges a deploy's limits over the defaults; INVALID_ARGUMENT names the first bad one. */
export function resolveLimits(asked: Partial<ServiceLimits> | undefined, defaults: ServiceLimits = DEFAULT_LIMITS): ServiceLimits {
  const out = { ...defaults };
  if (asked === undefined) return out;
  if (typeof asked !== "object" || asked === null) throw new SoloError("INVALID_ARGUMENT", "limits must be an object");
  for (const [name, value] of Object.entries(asked)) {
    // Own properties only: `in` would accept "constructor", "toString" or "__proto__".
    if (!Object.hasOwn(DEFAULT_LIMITS, name)) {
      throw new SoloError("INVALID_ARGUMENT", `unknown limit "${name}"; known: ${Object.keys(DEFAULT_LIMITS).join(", ")}`, { field: `limits.${name}` });
    }
    const key = name as keyof ServiceLimits;
    const max = MAX_LIMITS[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0 || value > max) {
      throw new SoloError("INVALID_ARGUMENT", `limits.${name} must be a whole number from 1 to ${max}; got ${String(value)}`, { field: `limits.${name}` });
    }
    out[key] = value;
  }
  return out;
}
