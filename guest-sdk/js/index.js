// The "solo" module for TypeScript and JavaScript guests (QuickJS, built by componentize-qjs).
//
//   import { log, kv } from "solo";
//   export function handle(request: string): string { ... }
//
// A failed import throws an Error whose message starts with the WIT error case
// ("access-denied: ...", "limit-exceeded: ..."); uncaught, it fails the call with GUEST_ERROR.
// Importing this module also gives the guest console, Date.now / new Date() and Math.random,
// through the log, clock and random imports (QuickJS has none of them without WASI).
import * as wlog from "solo:agent/log@0.1.0";
import * as wkv from "solo:agent/kv@0.1.0";
import * as wclock from "solo:agent/clock@0.1.0";
import * as wrandom from "solo:agent/random@0.1.0";
import * as wsecrets from "solo:agent/secrets@0.1.0";
import * as wservices from "solo:agent/services@0.1.0";
import * as wevents from "solo:agent/events@0.1.0";

function witError(e) {
  const v = e && typeof e === "object" && "payload" in e ? e.payload : e;
  if (v && typeof v === "object" && "tag" in v) return new Error(`${v.tag}: ${v.val}`);
  return e instanceof Error ? e : new Error(String(e));
}

function wrap(fn) {
  return (...args) => {
    try {
      return fn(...args);
    } catch (e) {
      throw witError(e);
    }
  };
}

function text(args) {
  return args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ");
}

export const log = {
  debug: (...a) => wlog.log("debug", text(a)),
  info: (...a) => wlog.log("info", text(a)),
  warn: (...a) => wlog.log("warn", text(a)),
  error: (...a) => wlog.log("error", text(a)),
};

export const kv = {
  /** The value, or undefined when the key is missing. */
  get: wrap((key) => wkv.get(key)),
  set: wrap((key, value) => wkv.set(key, value)),
  delete: wrap((key) => wkv.delete(key)),
  /** Keys that start with prefix, in order. */
  keys: wrap((prefix = "") => wkv.keys(prefix)),
};

export const clock = {
  nowMs: () => Number(wclock.nowMs()),
  monotonicNs: () => wclock.monotonicNs(),
};

export const random = {
  nextU64: () => wrandom.nextU64(),
};

export const secrets = { get: wrap((name) => wsecrets.get(name)) };
export const services = { call: wrap((service, request) => wservices.call(service, request)) };
export const events = { emit: wrap((kind, data) => wevents.emit(kind, typeof data === "string" ? data : JSON.stringify(data))) };

// ---- the globals a JavaScript programmer expects ----

globalThis.console = { log: log.info, info: log.info, debug: log.debug, warn: log.warn, error: log.error };

const HostDate = Date;
class SoloDate extends HostDate {
  constructor(...args) {
    if (args.length === 0) super(clock.nowMs());
    else super(...args);
  }
  static now() {
    return clock.nowMs();
  }
}
globalThis.Date = SoloDate;

// u64 may arrive as a BigInt or a Number, depending on the binding.
Math.random = () => Number(BigInt.asUintN(64, BigInt(wrandom.nextU64())) >> 11n) / 9007199254740992;
