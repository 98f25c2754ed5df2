// Canonical-ABI glue for AssemblyScript guests (string encoding: UTF-16, AssemblyScript's own).
// Used by the entry that Solo generates around a guest; guests import "solo", not this file.

/** Static return area for handle's result<string, string> (and health's, migrate's result<_, string>): tag @0, ptr @4, len @8. */
const RETURN_AREA: usize = memory.data(16);
/** Scratch area for imports that return through a pointer (16 bytes is the largest result). */
export const IMPORT_AREA: usize = memory.data(16);

let failure: string | null = null;

/** Marks this call as a handled failure; handle's return value is then ignored. */
export function setFailure(message: string): void {
  failure = message;
}

/** The host writes parameters and import results into blocks from here. */
export function cabi_realloc(old: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (old != 0) return heap.realloc(old, newSize);
  return heap.alloc(newSize);
}

/** Copies a host-written UTF-16 block into a managed string and frees the block. */
export function liftString(ptr: usize, len: i32): string {
  if (len == 0) {
    if (ptr != 0) heap.free(ptr);
    return "";
  }
  const s = String.UTF16.decodeUnsafe(ptr, <usize>len << 1);
  heap.free(ptr);
  return s;
}

/** Reads a string that the host wrote at `at` (ptr @0, len @4) into the import area. */
export function liftStringAt(at: usize): string {
  return liftString(load<u32>(at), load<i32>(at, 4));
}

/** Stores handle's result into the return area and gives its address to the host. */
export function returnResult(output: string): usize {
  const failed = failure;
  failure = null;
  const value = failed !== null ? failed : output;
  store<u8>(RETURN_AREA, failed !== null ? 1 : 0);
  store<u32>(RETURN_AREA, changetype<usize>(value), 4);
  store<u32>(RETURN_AREA, value.length, 8);
  return RETURN_AREA;
}

/**
 * Stores health's or migrate's result<_, string> (null: ok; a string: the error, as does a
 * `fail()` during the call) into the return area and gives its address to the host.
 */
export function returnUnitResult(message: string | null): usize {
  const failed = failure;
  failure = null;
  const error = failed !== null ? failed : message;
  if (error === null) {
    store<u8>(RETURN_AREA, 0);
  } else {
    store<u8>(RETURN_AREA, 1);
    store<u32>(RETURN_AREA, changetype<usize>(error), 4);
    store<u32>(RETURN_AREA, error.length, 8);
  }
  return RETURN_AREA;
}

@external("solo:agent/log@0.1.0", "log")
declare function hostLog(level: i32, ptr: usize, len: i32): void;

/** Replaces AssemblyScript's `env.abort`: logs the reason, then traps. */
export function soloAbort(message: string | null, file: string | null, line: u32, column: u32): void {
  let text = message !== null ? message : "abort";
  if (file !== null) text = text + " at " + file + ":" + line.toString() + ":" + column.toString();
  hostLog(3, changetype<usize>(text), text.length);
  unreachable();
}

/** Replaces AssemblyScript's `env.trace`: a debug log line. */
export function soloTrace(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let text = message;
  if (n > 0) text += " " + a0.toString();
  if (n > 1) text += " " + a1.toString();
  if (n > 2) text += " " + a2.toString();
  if (n > 3) text += " " + a3.toString();
  if (n > 4) text += " " + a4.toString();
  hostLog(0, changetype<usize>(text), text.length);
}

@external("solo:agent/random@0.1.0", "next-u64")
declare function hostNextU64(): u64;

/** Replaces AssemblyScript's `env.seed` so Math.random differs per instance without WASI. */
export function soloSeed(): f64 {
  return <f64>(hostNextU64() >>> 11);
}
