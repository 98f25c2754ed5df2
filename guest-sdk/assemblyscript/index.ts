// The "solo" module for AssemblyScript guests: typed wrappers over the solo:agent imports.
//
//   import { log, kv, fail } from "solo";
//   export function handle(request: string): string { ... }
//
// Optional, run by the host on a new version before it takes over (null: ok; a string, or a
// fail("why") during the call: the failure):
//   export function health(): string | null { ... }                 // fit to serve?
//   export function migrate(fromVersion: u32): string | null { ... } // once, with kv
//
// An import that fails returns null / false; `lastError()` then says why (access-denied,
// not-found, limit-exceeded, invalid or unavailable, with the host's message).
import { IMPORT_AREA, liftString, liftStringAt, setFailure } from "./abi";

/** The kinds of the WIT `error` variant, in declaration order. */
export enum ErrorKind { AccessDenied = 0, NotFound = 1, LimitExceeded = 2, Invalid = 3, Unavailable = 4 }

export class SoloError {
  constructor(public kind: ErrorKind, public message: string) {}
  toString(): string {
    const names = ["access-denied", "not-found", "limit-exceeded", "invalid", "unavailable"];
    return names[this.kind] + ": " + this.message;
  }
}

let lastErr: SoloError | null = null;

/** The error of the last import call that failed, or null if it succeeded. */
export function lastError(): SoloError | null {
  return lastErr;
}

/** Ends this call as a handled failure: `return fail("why")`. The caller gets GUEST_ERROR. */
export function fail(message: string): string {
  setFailure(message);
  return "";
}

// Reads result<_, error> / result<T, error> written at IMPORT_AREA; true when ok.
function takeOk(): bool {
  if (load<u8>(IMPORT_AREA) == 0) {
    lastErr = null;
    return true;
  }
  lastErr = new SoloError(<ErrorKind>load<u8>(IMPORT_AREA, 4), liftStringAt(IMPORT_AREA + 8));
  return false;
}

function ptr(s: string): usize {
  return changetype<usize>(s);
}

@external("solo:agent/log@0.1.0", "log")
declare function _log(level: i32, p: usize, l: i32): void;

export namespace log {
  export function debug(message: string): void { _log(0, ptr(message), message.length); }
  export function info(message: string): void { _log(1, ptr(message), message.length); }
  export function warn(message: string): void { _log(2, ptr(message), message.length); }
  export function error(message: string): void { _log(3, ptr(message), message.length); }
}

@external("solo:agent/kv@0.1.0", "get")
declare function _kvGet(kp: usize, kl: i32, ret: usize): void;
@external("solo:agent/kv@0.1.0", "set")
declare function _kvSet(kp: usize, kl: i32, vp: usize, vl: i32, ret: usize): void;
@external("solo:agent/kv@0.1.0", "delete")
declare function _kvDelete(kp: usize, kl: i32, ret: usize): void;
@external("solo:agent/kv@0.1.0", "keys")
declare function _kvKeys(pp: usize, pl: i32, ret: usize): void;

/** The service's own key-value store. A call's writes persist only if the call succeeds. */
export namespace kv {
  /** The value, or null when the key is missing or the call failed (see lastError). */
  export function get(key: string): string | null {
    _kvGet(ptr(key), key.length, IMPORT_AREA);
    if (!takeOk()) return null;
    if (load<u8>(IMPORT_AREA, 4) == 0) return null;
    return liftStringAt(IMPORT_AREA + 8);
  }
  export function set(key: string, value: string): bool {
    _kvSet(ptr(key), key.length, ptr(value), value.length, IMPORT_AREA);
    return takeOk();
  }
  export function del(key: string): bool {
    _kvDelete(ptr(key), key.length, IMPORT_AREA);
    return takeOk();
  }
  /** Keys that start with prefix, in order. */
  export function keys(prefix: string): string[] {
    _kvKeys(ptr(prefix), prefix.length, IMPORT_AREA);
    const out = new Array<string>();
    if (!takeOk()) return out;
    const list = <usize>load<u32>(IMPORT_AREA, 4);
    const n = load<i32>(IMPORT_AREA, 8);
    for (let i = 0; i < n; i++) {
      const at = list + (<usize>i << 3);
      out.push(liftString(load<u32>(at), load<i32>(at, 4)));
    }
    if (list != 0) heap.free(list);
    return out;
  }
}

@external("solo:agent/clock@0.1.0", "now-ms")
declare function _nowMs(): u64;
@external("solo:agent/clock@0.1.0", "monotonic-ns")
declare function _monotonicNs(): u64;

export namespace clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  export function nowMs(): u64 { return _nowMs(); }
  /** A monotonic nanosecond counter, for measuring durations. */
  export function monotonicNs(): u64 { return _monotonicNs(); }
}

@external("solo:agent/random@0.1.0", "next-u64")
declare function _nextU64(): u64;

export namespace random {
  export function nextU64(): u64 { return _nextU64(); }
}

@external("solo:agent/secrets@0.1.0", "get")
declare function _secretGet(np: usize, nl: i32, ret: usize): void;

export namespace secrets {
  /** The secret's value, or null when it is not granted (see lastError). */
  export function get(name: string): string | null {
    _secretGet(ptr(name), name.length, IMPORT_AREA);
    if (!takeOk()) return null;
    return liftStringAt(IMPORT_AREA + 4);
  }
}

@external("solo:agent/services@0.1.0", "call")
declare function _serviceCall(sp: usize, sl: i32, rp: usize, rl: i32, ret: usize): void;

export namespace services {
  /** Calls another service of this tenant; null when the call failed (see lastError). */
  export function call(service: string, request: string): string | null {
    _serviceCall(ptr(service), service.length, ptr(request), request.length, IMPORT_AREA);
    if (!takeOk()) return null;
    return liftStringAt(IMPORT_AREA + 4);
  }
}

@external("solo:agent/events@0.1.0", "emit")
declare function _emit(kp: usize, kl: i32, dp: usize, dl: i32, ret: usize): void;

export namespace events {
  /** Appends a guest_event to the event log; false when not allowed (see lastError). */
  export function emit(kind: string, data: string): bool {
    _emit(ptr(kind), kind.length, ptr(data), data.length, IMPORT_AREA);
    return takeOk();
  }
}
