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

/** Start code that grows memory by `pages` 64 KiB pages before any call (a start that needs memory). */
export function startGrows(pages: number): string {
  return `
const grown = memory.grow(${pages});

export function handle(request: string): string {
  return "grown from " + grown.toString() + " pages: " + request;
}
`;
}
