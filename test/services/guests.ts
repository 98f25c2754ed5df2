// The guests the service-call, guest-event and kv tests share: one AssemblyScript source deployed
// under many names (with different capabilities), which does on request what a test needs and
// answers what the host said, so a test sees exactly what a guest sees.
import type { Host, SoloEvent } from "../../host/index.ts";

/**
 * Requests ("verb:rest"):
 *   call:SVC:REQ      services.call(SVC, REQ); the answer, or the WIT error as "kind: message"
 *   callfail:SVC:REQ  sets its own key "mine", calls SVC, then fails the call (GUEST_ERROR)
 *   set:K:V / get:K   its own kv
 *   spin              loops until its fuel runs out;  trap: unreachable
 *   calls             how many calls this instance has served
 *   emit:N            emits N "tick" events; answers how many were refused, and the last error
 *   emitbig:N         emits N bytes of data;  emitkind:K  emits kind K;  emitfail  emits, then fails
 *   fill:N            sets N keys k00000..;   keys:P  kv.keys(P).length, or the error
 *   anything else     "echo " + the request
 */
export const NODE = `
import { kv, services, events, lastError, fail } from "solo";

let served = 0;

function err(): string {
  const e = lastError();
  return e === null ? "no error" : e.toString();
}

function head(s: string): string {
  const i = s.indexOf(":");
  return i < 0 ? s : s.slice(0, i);
}

function tail(s: string): string {
  const i = s.indexOf(":");
  return i < 0 ? "" : s.slice(i + 1);
}

export function handle(request: string): string {
  served++;
  const verb = head(request);
  const rest = tail(request);
  if (verb == "call") {
    const r = services.call(head(rest), tail(rest));
    return r === null ? err() : r;
  }
  if (verb == "callfail") {
    kv.set("mine", "x");
    const r = services.call(head(rest), tail(rest));
    return fail("caller failed after: " + (r === null ? err() : r));
  }
  if (verb == "set") return kv.set(head(rest), tail(rest)) ? "set " + head(rest) : err();
  if (verb == "get") {
    const v = kv.get(rest);
    return v === null ? "none" : v;
  }
  if (verb == "spin") {
    while (served > 0) served++;
    return "never";
  }
  if (verb == "trap") unreachable();
  if (verb == "calls") return served.toString();
  if (verb == "emit") {
    const n = I32.parseInt(rest);
    let refused = 0;
    let last = "";
    for (let i = 0; i < n; i++) {
      if (!events.emit("tick", '{"i":' + i.toString() + "}")) {
        refused++;
        last = err();
      }
    }
    return "refused " + refused.toString() + (refused > 0 ? " " + last : "");
  }
  if (verb == "emitbig") return events.emit("big", "x".repeat(I32.parseInt(rest))) ? "emitted" : err();
  if (verb == "emitkind") return events.emit(rest, "{}") ? "emitted" : err();
  if (verb == "emitfail") {
    events.emit("doomed", "{}");
    return fail("failed after emitting");
  }
  if (verb == "fill") {
    const n = I32.parseInt(rest);
    for (let i = 0; i < n; i++) {
      if (!kv.set("k" + i.toString().padStart(5, "0"), "v")) return err();
    }
    return "filled " + n.toString();
  }
  if (verb == "keys") {
    const ks = kv.keys(rest);
    const e = lastError();
    return e === null ? ks.length.toString() : e.toString();
  }
  return "echo " + request;
}
`;

/** TypeScript (QuickJS): calls the service named in the request and answers what it said or threw. */
export const TS_CALLER = `
import { services, events } from "solo";

export function handle(request: string): string {
  const i = request.indexOf(":");
  try {
    const answer = services.call(request.slice(0, i), request.slice(i + 1));
    events.emit("called", JSON.stringify({ answer }));
    return "ts got " + answer;
  } catch (e) {
    return "ts caught " + (e as Error).message;
  }
}
`;

export async function eventsOf(host: Host, tenant: string, type: SoloEvent["type"], service?: string): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of host.events(tenant, { type, ...(service ? { service } : {}) })) out.push(e);
  return out;
}
