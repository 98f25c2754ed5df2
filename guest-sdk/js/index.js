// The "solo" module for TypeScript and JavaScript guests (QuickJS, built by componentize-qjs).
//
//   import { log, kv } from "solo";
//   export function handle(request: string): string { ... }
//
// A failed import throws an Error whose message starts with the WIT error case
// ("access-denied: ...", "limit-exceeded: ..."); uncaught, it fails the call with GUEST_ERROR.
//
// Nothing here runs at load time, so the bundler keeps only the names a guest uses and drops the
// solo:agent imports nobody calls; the component then imports just those interfaces (what
// status.interfaces lists). console, Date and Math.random come from globals/, which the build
// injects only into a guest that mentions them (host/compile/javascript.ts).
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
  get: /* @__PURE__ */ wrap((key) => wkv.get(key)),
  set: /* @__PURE__ */ wrap((key, value) => wkv.set(key, value)),
  delete: /* @__PURE__ */ wrap((key) => wkv.delete(key)),
  /** Keys that start with prefix, in order. */
  keys: /* @__PURE__ */ wrap((prefix = "") => wkv.keys(prefix)),
};

// QuickJS hands the guest a WIT u64 as a Number (exact below 2^53): wall-clock milliseconds
// always fit; monotonic nanoseconds fit for the first ~104 days of the host machine's uptime.
export const clock = {
  nowMs: () => Number(wclock.nowMs()),
  monotonicNs: () => BigInt(wclock.monotonicNs()),
};

// A u64 does not survive QuickJS's Number, so the host answers a QuickJS guest's next-u64 with
// 53 random bits (host/runtime/glue-sandbox.ts), exact as a Number; two of them make one exact
// 64-bit BigInt. Costs two imports' fuel.
export const random = {
  nextU64: () => (BigInt(wrandom.nextU64()) << 11n) | (BigInt(wrandom.nextU64()) & 0x7ffn),
};

export const secrets = { get: /* @__PURE__ */ wrap((name) => wsecrets.get(name)) };
export const services = { call: /* @__PURE__ */ wrap((service, request) => wservices.call(service, request)) };
export const events = { emit: /* @__PURE__ */ wrap((kind, data) => wevents.emit(kind, typeof data === "string" ? data : JSON.stringify(data))) };
