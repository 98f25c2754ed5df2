// Guests the capability tests share: one AssemblyScript and one TypeScript source that try each
// import on request and answer what the host said, so a test sees exactly what a guest sees.
import type { Host, SoloEvent } from "../../host/index.ts";
import { ABI, component } from "../abuse/hostile.ts";

/**
 * AssemblyScript: "kv" sets and reads a key; "secret:NAME", "call:SERVICE", "emit" try those;
 * "clock" answers now-ms and next-u64; "log" logs a line; "loop" calls kv.get 10,000 times and
 * answers how many failed; "fail" fails the call with the error when kv.get fails.
 */
export const AS_GUEST = `
import { kv, secrets, services, events, log, clock, random, lastError, fail } from "solo";

function err(): string {
  const e = lastError();
  return e === null ? "no error" : e.toString();
}

export function handle(request: string): string {
  if (request == "kv") {
    if (!kv.set("k", "v")) return err();
    const v = kv.get("k");
    return v === null ? err() : "kv " + v;
  }
  if (request.startsWith("secret:")) {
    const s = secrets.get(request.slice(7));
    return s === null ? err() : s;
  }
  if (request.startsWith("call:")) {
    const r = services.call(request.slice(5), "hi");
    return r === null ? err() : r;
  }
  if (request == "emit") return events.emit("thing", "{}") ? "emitted" : err();
  if (request == "clock") return clock.nowMs().toString() + " " + random.nextU64().toString();
  if (request == "log") {
    log.info("a line from the guest");
    return "logged";
  }
  if (request == "loop") {
    let failed = 0;
    for (let i = 0; i < 10000; i++) if (kv.get("k") === null) failed++;
    return failed.toString();
  }
  if (request == "fail") {
    if (kv.get("k") === null) return fail(err());
    return "no failure";
  }
  return "unknown request " + request;
}
`;

/** TypeScript (QuickJS): the sdk throws a failed import's error; "throw" lets it escape. */
export const TS_GUEST = `
import { kv } from "solo";

export function handle(request: string): string {
  if (request === "throw") {
    kv.get("k");
    return "no error";
  }
  try {
    kv.set("k", "v");
    return "kv " + kv.get("k");
  } catch (e) {
    return "caught " + (e as Error).message;
  }
}
`;

/**
 * A hand-written core module: kv.get(request); answers the error message when it failed, else
 * the request itself.
 */
export function kvComponent(): Promise<Uint8Array> {
  return component(`(module
    (import "solo:agent/kv@0.1.0" "get" (func $get (param i32 i32 i32)))
    (memory (export "memory") 1)
    ${ABI}
    (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
      (call $get (local.get $ptr) (local.get $len) (i32.const 64))
      (i32.store8 (i32.const 16) (i32.const 0))
      (if (i32.load8_u (i32.const 64))
        (then
          (i32.store (i32.const 20) (i32.load (i32.const 72)))
          (i32.store (i32.const 24) (i32.load (i32.const 76))))
        (else
          (i32.store (i32.const 20) (local.get $ptr))
          (i32.store (i32.const 24) (local.get $len))))
      (i32.const 16)))`);
}

export const KV_DENIED = 'access-denied: kv is not granted to this service; deploy it with capability "kv"';

export async function eventsOf(host: Host, tenant: string, type: SoloEvent["type"], service?: string): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of host.events(tenant, { type, ...(service ? { service } : {}) })) out.push(e);
  return out;
}
