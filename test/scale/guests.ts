// Guests of the scale-to-zero tests: each counts the calls its instance served (a global, so a
// re-created instance starts again at 1) and keeps one kv key, so a test sees both at once.

/** "set:V" stores V under "k"; anything else answers "served N k=V". */
export const COUNTER_AS = `
import { kv } from "solo";

let served = 0;

export function handle(request: string): string {
  served++;
  if (request.startsWith("set:")) return kv.set("k", request.slice(4)) ? "set" : "failed";
  const v = kv.get("k");
  return "served " + served.toString() + " k=" + (v === null ? "none" : v);
}
`;

export const COUNTER_TS = `
import { kv } from "solo";

let served = 0;

export function handle(request: string): string {
  served++;
  if (request.startsWith("set:")) {
    kv.set("k", request.slice(4));
    return "set";
  }
  return "served " + served + " k=" + (kv.get("k") ?? "none");
}
`;

/** Start code that costs: ~2M loop turns of fuel and 40 pages (2.5 MiB) of memory, before any call. */
export const COSTLY_START = `
let spun: u32 = 0;
for (let i: u32 = 0; i < 2000000; i++) spun = (spun * 31 + i) ^ (spun >>> 7);
const grown = memory.grow(40);

export function handle(request: string): string {
  return request + " " + spun.toString() + " " + grown.toString();
}
`;

/** Start code that traps (an index out of range) before any call. */
export const TRAPPING_START = `
const parts = "a".split(",");
const boom = parts[5];

export function handle(request: string): string {
  return boom + request;
}
`;

/**
 * Start code that does what kv says, so a start proven at deploy can fail on a later re-creation:
 * "start:trap" makes the next start trap, "start:spin" makes it loop until fuel or the deadline
 * stops it. Calls answer "served N".
 */
export const KV_START = `
import { kv } from "solo";

let spins: u64 = 0;
const mode = kv.get("start");
if (mode !== null && mode == "trap") unreachable();
if (mode !== null && mode == "spin") {
  while (true) spins++;
}
let served = 0;

export function handle(request: string): string {
  served++;
  if (request.startsWith("start:")) return kv.set("start", request.slice(6)) ? "set" : "failed";
  return "served " + served.toString();
}
`;
