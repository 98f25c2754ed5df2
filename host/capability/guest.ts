// What a service's guest imports may do: a list of capability names fixed at deploy, stored with
// the service and enforced by the worker before each import (deny by default for everything
// outside the list). Names:
//   log, clock, random, kv, emit   one WIT interface each (emit: events.emit)
//   secret:NAME                    secrets.get(NAME), that one secret only
//   call:SERVICE                   services.call(SERVICE), that one service of the tenant only
// Loaded by the guest worker too, so it imports nothing but errors.ts.
import { SoloError } from "../errors.ts";

/** What a service gets when its deploy names no capabilities. */
export const DEFAULT_GUEST_CAPABILITIES: readonly string[] = Object.freeze(["log", "clock", "random", "kv"]);

/** The forms an agent may write, for error messages and docs. */
export const GUEST_CAPABILITY_FORMS = ["log", "clock", "random", "kv", "emit", "secret:NAME", "call:SERVICE"] as const;

/** A secret's or a service's name, as host/services/names.ts. */
export const CAPABILITY_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** More than any service needs; bounds the stored record and each install message. */
export const MAX_GUEST_CAPABILITIES = 100;

const PLAIN = new Set(["log", "clock", "random", "kv", "emit"]);

function invalid(message: string): SoloError {
  return new SoloError("INVALID_ARGUMENT", `${message}; capabilities are ${GUEST_CAPABILITY_FORMS.join(", ")} (NAME and SERVICE: 1-63 characters of a-z, 0-9, _ and -)`, { field: "capabilities" });
}

function isCapability(c: string): boolean {
  if (PLAIN.has(c)) return true;
  if (c.startsWith("secret:")) return CAPABILITY_NAME.test(c.slice(7));
  if (c.startsWith("call:")) return CAPABILITY_NAME.test(c.slice(5));
  return false;
}

/**
 * The capabilities a deploy asked for, sorted and de-duplicated. Undefined is the default set; a
 * list replaces it (`[]` grants nothing). Anything else: INVALID_ARGUMENT (field `capabilities`).
 */
export function resolveGuestCapabilities(asked: unknown): string[] {
  if (asked === undefined) return [...DEFAULT_GUEST_CAPABILITIES].sort();
  if (!Array.isArray(asked)) throw invalid(`capabilities must be a list of strings, got ${typeof asked === "object" ? (asked === null ? "null" : "an object") : typeof asked}`);
  if (asked.length > MAX_GUEST_CAPABILITIES) throw invalid(`at most ${MAX_GUEST_CAPABILITIES} capabilities may be given, got ${asked.length}`);
  for (const c of asked) {
    if (typeof c !== "string" || !isCapability(c)) {
      const shown = typeof c === "string" ? JSON.stringify(c.length > 80 ? `${c.slice(0, 80)}...` : c) : String(c);
      throw invalid(`capability ${shown} is unknown or malformed`);
    }
  }
  return [...new Set(asked as string[])].sort();
}

/** A resolved capability list in the form the worker checks on each import. */
export interface GuestGrants {
  log: boolean;
  clock: boolean;
  random: boolean;
  kv: boolean;
  emit: boolean;
  secrets: ReadonlySet<string>;
  calls: ReadonlySet<string>;
}

/** Reads a list resolveGuestCapabilities answered (entries it would refuse grant nothing). */
export function guestGrants(capabilities: readonly string[]): GuestGrants {
  const secrets = new Set<string>();
  const calls = new Set<string>();
  for (const c of capabilities) {
    if (c.startsWith("secret:")) secrets.add(c.slice(7));
    else if (c.startsWith("call:")) calls.add(c.slice(5));
  }
  const has = (c: string) => capabilities.includes(c);
  return { log: has("log"), clock: has("clock"), random: has("random"), kv: has("kv"), emit: has("emit"), secrets, calls };
}

/**
 * The capability that would have allowed a denied import, from the label the worker reports:
 * "kv.get" -> "kv", "events.emit" -> "emit", "secrets.get(db)" -> "secret:db",
 * "services.call(billing)" -> "call:billing", "clock.now-ms" -> "clock".
 */
export function capabilityForImport(label: string): string {
  const open = label.indexOf("(");
  if (open > 0 && label.endsWith(")")) {
    const name = label.slice(open + 1, -1);
    if (label.startsWith("secrets.get(")) return `secret:${name}`;
    if (label.startsWith("services.call(")) return `call:${name}`;
  }
  if (label === "events.emit") return "emit";
  const dot = label.indexOf(".");
  return dot < 0 ? label : label.slice(0, dot);
}
