// services.call inside the worker: a guest calls another service of its tenant, synchronously,
// on the callee's instance in this same worker (a tenant's services share one worker, so no
// thread is crossed and the WIT import can stay synchronous).
//
// - Fuel: the callee runs with min(its own per-call fuel, what the caller has left), and what it
//   used is charged to the caller's counter. The caller's deadline covers the whole chain (the
//   watchdog watches the outer call), so a callee cannot outlive its caller.
// - Depth and cycles: the services running on the worker form a stack; calling one already on it
//   (a -> b -> a, a -> a) or going deeper than MAX_CALL_DEPTH answers limit-exceeded with the
//   path, before anything runs. No instance is ever re-entered.
// - Failures: a callee's failure is the caller's WIT error carrying the callee's code
//   ("unavailable: GUEST_TRAP: ..."); a trapped callee is dropped and re-created for its next call.
// - State: a successful callee call commits its kv writes to its copy at once and the writes go
//   back with the outer call's result (NestedResult), to be committed by the host whatever the
//   outer call does next: a callee's writes live or die with its own success.
// - A callee with no instance here answers not-found: on this worker that means not deployed (or
//   being deployed, killed, or failed). Should placement ever split a tenant across workers, the
//   worker must be told which of its tenant's services live elsewhere and answer those
//   `unavailable` ("runs on another worker"): a synchronous call across threads would block this
//   worker on another one (and two workers calling each other would deadlock).
// Loaded by the guest worker.
import { toSoloError, type ErrorCode } from "../errors.ts";
import type { LogLevel, WitErrorKind } from "../wasm/index.ts";
import { fail, ok, type FuelMeter, type WitResult } from "./guest-env.ts";
import type { EmitSlot } from "./guest-events.ts";
import type { GuestInstance } from "./guest-instance.ts";
import type { KvView, KvWrite } from "./kv-view.ts";
import { clip, type CallOutcome } from "./outcome.ts";
import type { InstanceLimits, NestedResult, WireError } from "./protocol.ts";
import type { TenantState } from "./tenant-quota.ts";

/** Services one call chain may hold, the outer one included (a -> b -> ... 8 deep). */
export const MAX_CALL_DEPTH = 8;
/** Log lines kept per callee per outer call. */
const MAX_NESTED_LOGS = 100;

/** What a nested call needs of a worker's slot (worker.ts Slot). */
export interface CallSlot extends EmitSlot {
  readonly tenant: TenantState;
  readonly kv: KvView;
  readonly limits: InstanceLimits;
  /** Fuel one call of this service may get (its limit under its tenant's fuelPerCall quota). */
  readonly fuel: number;
  logs: [LogLevel, string][];
  denied: string[] | undefined;
  memoryCap(): number;
  measure(bytes: number): void;
  drop(): void;
  instance(): GuestInstance;
}

/** The WIT error a callee's failure becomes for its caller (the message starts with the code). */
const KIND: Partial<Record<ErrorCode, WitErrorKind>> = {
  FUEL_EXHAUSTED: "limit-exceeded",
  MEMORY_LIMIT: "limit-exceeded",
  RESOURCE_EXHAUSTED: "limit-exceeded",
  NOT_FOUND: "not-found",
  INVALID_ARGUMENT: "invalid",
};

interface Entry {
  result: NestedResult;
  writes?: Map<string, string | null>;
}

export class ServiceCalls {
  /** Names of the services running now on this worker, the outer call's first; empty between calls. */
  private stack: string[] = [];
  /** What the running outer call's callees left, by service key. */
  private nested: Map<string, Entry> | undefined;

  constructor(private readonly find: (key: string) => CallSlot | undefined, private readonly maxDepth = MAX_CALL_DEPTH, private readonly reloading: (key: string) => boolean = () => false) {}

  /** An outer call of `service` starts. */
  begin(service: string): void {
    this.stack = [service];
    this.nested = undefined;
  }

  /** The outer call ended: what its callees left, for its result. */
  end(): NestedResult[] | undefined {
    this.stack = [];
    const nested = this.nested;
    this.nested = undefined;
    if (!nested) return undefined;
    const out: NestedResult[] = [];
    for (const { result, writes } of nested.values()) {
      if (writes) result.writes = [...writes] as KvWrite[];
      out.push(result);
    }
    return out;
  }

  /** The guest's services.call(service, request), for a caller granted call:SERVICE. */
  call(caller: CallSlot, service: string, request: string, meter: FuelMeter): WitResult<string> {
    if (this.stack.length === 0) return fail("unavailable", "services.call works only inside handle, not in top-level (start) code");
    const path = () => [...this.stack, service].join(" -> ");
    if (this.stack.includes(service)) return fail("limit-exceeded", `call cycle: ${path()}; a service cannot be called while it is already running in this call chain`);
    if (this.stack.length >= this.maxDepth) return fail("limit-exceeded", `call depth: ${path()} is ${this.stack.length + 1} services deep; at most ${this.maxDepth} may run in one call chain`);
    const tenant = caller.tenant;
    const key = `${tenant.tenant}/${service}`;
    const callee = this.find(key);
    if (!callee) return fail("not-found", `service ${service} is not running in tenant ${tenant.tenant} (not deployed, being deployed or killed, or failed); deploy it first`);
    if (this.reloading(key)) {
      this.entry(key).result.reloadWanted = true;
      return fail("unavailable", `service ${service}'s kv is being reloaded after a failed commit; it did not run; try again`);
    }
    const left = meter.fuelLeft;
    const fuel = Math.min(callee.fuel, left > 0n ? Number(left) : 0);
    if (fuel <= 0) return fail("limit-exceeded", `FUEL_EXHAUSTED: the caller has no fuel left to call ${service}`);
    // The caller's pending kv bytes count against the tenant's kvBytes quota while the callee writes.
    const pending = caller.kv.pendingBytes;
    tenant.kvPending += pending;
    this.stack.push(service);
    let outcome: CallOutcome;
    try {
      outcome = this.run(key, callee, request, fuel);
    } finally {
      this.stack.pop();
      tenant.kvPending -= pending;
    }
    meter.charge(outcome.fuel); // at most `fuel`, so at most what the caller had left
    if (outcome.ok) return ok(outcome.output);
    return fail(KIND[outcome.code] ?? "unavailable", clip(`${outcome.code}: ${outcome.message}`));
  }

  /** One callee call: as the worker runs an outer call, without the watchdog (the caller's covers it). */
  private run(key: string, callee: CallSlot, request: string, fuel: number): CallOutcome {
    const entry = this.entry(key);
    const r = entry.result;
    r.calls++;
    callee.denied = undefined;
    let sandbox: GuestInstance;
    try {
      sandbox = callee.instance(); // re-created here if its last call trapped (start code, own fuel)
    } catch (err) {
      const e = toSoloError(err);
      if (callee.denied) this.denied(r, callee.denied);
      this.failed(entry, callee, { code: e.code, message: e.message }, false);
      return { ok: false, code: e.code, message: e.message, fuel: 0, memoryBytes: 0, trapped: false };
    }
    callee.kv.begin();
    callee.logs = [];
    callee.emits = [];
    callee.emitsRefused = 0;
    let outcome: CallOutcome;
    try {
      outcome = sandbox.call(request, fuel, callee.limits.maxResponseBytes, callee.memoryCap());
    } catch (err) {
      const e = toSoloError(err);
      outcome = { ok: false, code: e.code, message: e.message, fuel: 0, memoryBytes: 0, trapped: true };
    }
    callee.measure(sandbox.memoryBytes);
    if (callee.denied) this.denied(r, callee.denied);
    if (callee.logs.length) {
      const logs = (r.logs ??= []);
      for (const line of callee.logs) if (logs.length < MAX_NESTED_LOGS) logs.push(line);
    }
    if (callee.emitsRefused) r.emitsRefused = (r.emitsRefused ?? 0) + callee.emitsRefused;
    if (outcome.ok) {
      const writes = callee.kv.commit(); // the callee's own success: its writes stand
      if (writes) {
        const merged = (entry.writes ??= new Map());
        for (const [k, v] of writes) {
          merged.delete(k); // keeps the order of last writes
          merged.set(k, v);
        }
        r.kvBytes = callee.kv.totalBytes;
      }
      if (callee.emits.length) (r.emits ??= []).push(...callee.emits);
    } else {
      callee.kv.begin();
      this.failed(entry, callee, outcome, outcome.trapped);
    }
    callee.emits = undefined;
    return outcome;
  }

  private failed(entry: Entry, callee: CallSlot, error: WireError, trapped: boolean): void {
    const r = entry.result;
    const errors = (r.errors ??= {});
    errors[error.code] = (errors[error.code] ?? 0) + 1;
    if (error.code === "GUEST_TRAP" && !r.trap) r.trap = { code: error.code, message: error.message };
    if (trapped) callee.drop(); // re-created for its next call
  }

  private denied(r: NestedResult, denied: string[]): void {
    const d = (r.denied ??= []);
    for (const x of denied) if (!d.includes(x) && d.length < 20) d.push(x);
  }

  private entry(key: string): Entry {
    const nested = (this.nested ??= new Map());
    let e = nested.get(key);
    if (!e) nested.set(key, (e = { result: { key, calls: 0 } }));
    return e;
  }
}
