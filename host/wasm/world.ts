// The solo:agent@0.1.0 `service` world as core WebAssembly sees it after canonical-ABI lowering
// (string encoding UTF-16). wit/solo.wit is the source of truth; this table must match it, and
// componentNew checks every AssemblyScript guest against the WIT, so a drift fails the tests.
import { I32, I64, type FuncType } from "./module-info.ts";

export const WORLD_PACKAGE = "solo:agent";
export const WORLD_VERSION = "0.1.0";
export const WORLD_NAME = "service";

const fn = (params: number[], results: number[] = []): FuncType => ({ params, results });

/** Core imports a guest module may have: "solo:agent/<interface>@0.1.0" -> function -> type. */
export const WORLD_IMPORTS: Record<string, Record<string, FuncType>> = {
  log: { log: fn([I32, I32, I32]) },
  kv: {
    get: fn([I32, I32, I32]),
    set: fn([I32, I32, I32, I32, I32]),
    delete: fn([I32, I32, I32]),
    keys: fn([I32, I32, I32]),
  },
  clock: { "now-ms": fn([], [I64]), "monotonic-ns": fn([], [I64]) },
  random: { "next-u64": fn([], [I64]) },
  secrets: { get: fn([I32, I32, I32]) },
  services: { call: fn([I32, I32, I32, I32, I32]) },
  events: { emit: fn([I32, I32, I32, I32, I32]) },
};

/**
 * Optional exports a service may add (wit/solo.wit: worlds service-health, service-migrate,
 * service-lifecycle). The host runs them on a new version before it takes over from the old one.
 */
export const LIFECYCLE_EXPORTS = ["health", "migrate"] as const;
export type LifecycleExport = (typeof LIFECYCLE_EXPORTS)[number];

/**
 * Each optional export: its WIT signature (what an error message names), its type without
 * parameter names (as wasm/component-types.ts reads it) and its core lowering (the result
 * through a return pointer: tag @0, error string ptr @4, len @8).
 */
export const LIFECYCLE_SIGNATURES: Record<LifecycleExport, { wit: string; type: string; core: FuncType }> = {
  health: { wit: "health: func() -> result<_, string>", type: "func() -> result<_, string>", core: fn([], [I32]) },
  migrate: { wit: "migrate: func(from-version: u32) -> result<_, string>", type: "func(u32) -> result<_, string>", core: fn([I32], [I32]) },
};

/** The world a guest with these optional exports targets (`service` when it has none). */
export function worldFor(lifecycle: readonly LifecycleExport[]): string {
  const health = lifecycle.includes("health");
  const migrate = lifecycle.includes("migrate");
  return health && migrate ? "service-lifecycle" : health ? "service-health" : migrate ? "service-migrate" : WORLD_NAME;
}

/** Core exports the host calls. */
export const WORLD_EXPORTS: Record<string, FuncType> = {
  handle: fn([I32, I32], [I32]),
  cabi_realloc: fn([I32, I32, I32, I32], [I32]),
};

export function importModuleName(iface: string): string {
  return `${WORLD_PACKAGE}/${iface}@${WORLD_VERSION}`;
}

/** "solo:agent/kv@0.1.0" -> "kv"; undefined for anything outside the world. */
export function worldInterface(module: string): string | undefined {
  const m = /^solo:agent\/([a-z-]+)@0\.1\.0$/.exec(module);
  return m && m[1] && m[1] in WORLD_IMPORTS ? m[1] : undefined;
}

/** The WIT error variant's cases, in order. */
export const WIT_ERROR_KINDS = ["access-denied", "not-found", "limit-exceeded", "invalid", "unavailable"] as const;
export type WitErrorKind = (typeof WIT_ERROR_KINDS)[number];

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
