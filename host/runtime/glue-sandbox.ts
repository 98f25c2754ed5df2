// One running instance of a multi-module component that Solo built itself (a QuickJS guest),
// wired by jco's generated glue. Its core modules are metered with shared counters: one fuel
// global, one memory budget and one grow flag, imported by every module from "solo:meter", so the
// budget covers the sum of all its memories. Each module's start function runs right after it is
// instantiated, as the engine would, but with the counters in place. Instantiate ~10-30 ms; a call
// adds jco's per-call bookkeeping (~20-60 us) to the guest's own time.
import { SoloError } from "../errors.ts";
import { COUNTER_MODULE } from "../wasm/meter.ts";
import { LOG_LEVELS, type LogLevel } from "../wasm/world.ts";
import { Counters, IMPORT_BASE_FUEL, OutOfFuel, startInstance } from "./counters.ts";
import type { GuestEnv, WitResult } from "./guest-env.ts";
import { absent, checkFromVersion, type GuestInstance } from "./guest-instance.ts";
import { classify, clip, failed, HostFault, startError, type CallOutcome } from "./outcome.ts";
import { MAX_LOG_BYTES } from "./sandbox.ts";
import { jsFailure, located, type GuestSource } from "./guest-stack.ts";

export interface Glue {
  instantiate(
    getCoreModule: (name: string) => WebAssembly.Module,
    imports: Record<string, Record<string, unknown>>,
    instantiateCore: (m: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
  ): { handle(request: string): unknown; health?: () => unknown; migrate?: (fromVersion: number) => unknown };
}

/** A WIT error as jco expects a host import to throw it. */
class WitFailure extends Error {
  constructor(readonly payload: { tag: string; val: string }) {
    super(`${payload.tag}: ${payload.val}`);
  }
}

export class GlueSandbox implements GuestInstance {
  private readonly counters = new Counters();
  private readonly memories = new Set<WebAssembly.Memory>();
  private readonly handle: (request: string) => unknown;
  private readonly optional: { health?: () => unknown; migrate?: (fromVersion: number) => unknown };
  readonly lifecycle: { health: boolean; migrate: boolean };
  readonly startFuel: number;
  private lastErrorLog: string | undefined;

  /** source: the deploy's file name and the bundle's map, for a thrown error's stack; none: not mapped. */
  constructor(glue: Glue, modules: Record<string, WebAssembly.Module>, env: GuestEnv, private readonly memoryLimitBytes: number, startFuel: number, private readonly source?: GuestSource) {
    const counters = this.counters;
    const charge = (units: number) => counters.charge(IMPORT_BASE_FUEL + units);
    // The same charges as Solo's binding (world-binding.ts), so a guest's fuel does not depend on
    // its runner: each string read from the guest 100 + its UTF-8 bytes (a QuickJS guest's
    // encoding), each string written back 100 + 2 per UTF-16 unit, an import with neither 100.
    // jco has decoded the guest's strings before these run, so they are charged right after; the
    // strings are bounded by the guest's memory, and the next charge stops a guest that keeps on.
    const read = (s: string) => charge(Buffer.byteLength(s, "utf8"));
    const write = (s: string) => charge(s.length * 2);
    const guard = <A extends unknown[], R>(fn: (...args: A) => R) => (...args: A): R => {
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof WitFailure || err instanceof OutOfFuel) throw err;
        throw new HostFault(err);
      }
    };
    /** An import's answer: an error's message is a string written back; `written` charges what ok writes. */
    const result = <T>(r: WitResult<T>, written?: (v: T) => void): T => {
      if (!r.ok) {
        write(r.message);
        throw new WitFailure({ tag: r.kind, val: r.message });
      }
      written?.(r.value);
      return r.value;
    };
    const text = (v: string | undefined) => void (v !== undefined && write(v));
    const log = guard((level: LogLevel, message: string) => {
      read(message);
      const clipped = message.length > MAX_LOG_BYTES ? `${message.slice(0, MAX_LOG_BYTES)} ... (clipped, ${message.length} chars)` : message;
      if (level === "error") this.lastErrorLog = clipped;
      env.log(LOG_LEVELS.includes(level) ? level : "info", clipped);
    });
    const imports = {
      "solo:agent/log": { log },
      "solo:agent/kv": {
        get: guard((k: string) => (read(k), result(env.kvGet(k), text))),
        set: guard((k: string, v: string) => (read(k), read(v), result(env.kvSet(k, v)))),
        delete: guard((k: string) => (read(k), result(env.kvDelete(k)))),
        keys: guard((p: string) => {
          charge(env.kvCount()); // the scan looks at every key: charged before it runs
          read(p);
          return result(env.kvKeys(p), (ks) => {
            charge(ks.length * 8);
            for (const k of ks) write(k);
          });
        }),
      },
      "solo:agent/clock": { nowMs: guard(() => (charge(0), env.nowMs())), monotonicNs: guard(() => (charge(0), env.monotonicNs())) },
      // QuickJS turns a u64 into a Number, exact only below 2^53: a QuickJS guest (the only
      // kind that runs as glue) gets the top 53 random bits, and its SDK joins two draws into
      // one exact 64-bit BigInt (guest-sdk/js).
      "solo:agent/random": { nextU64: guard(() => (charge(0), env.nextU64() >> 11n)) },
      "solo:agent/secrets": { get: guard((n: string) => (read(n), result(env.secretGet(n), text))) },
      "solo:agent/services": { call: guard((s: string, r: string) => (read(s), read(r), result(env.serviceCall(s, r, counters), text))) },
      "solo:agent/events": { emit: guard((k: string, d: string) => (read(k), read(d), result(env.emit(k, d)))) },
    };
    counters.reset(startFuel);
    let instance;
    try {
      instance = glue.instantiate(
        (name) => {
          const m = modules[name];
          if (!m) throw new SoloError("INTERNAL", `glue asked for unknown module ${name}`);
          return m;
        },
        imports,
        (m, imps) => {
          const inst = new WebAssembly.Instance(m, { ...imps, [COUNTER_MODULE]: counters.imports() });
          // Every memory counts once, whichever module defines it and however many import it.
          for (const v of Object.values(inst.exports)) if (v instanceof WebAssembly.Memory) this.memories.add(v);
          for (const ns of Object.values(imps ?? {})) {
            for (const x of Object.values(ns ?? {})) if (x instanceof WebAssembly.Memory) this.memories.add(x);
          }
          startInstance(inst.exports, counters, memoryLimitBytes, this.memoryBytes);
          return inst;
        },
      );
    } catch (err) {
      throw startError(err, { counters, fuelLimit: startFuel, memoryLimitBytes, memoryBytes: this.memoryBytes, lastErrorLog: this.lastErrorLog });
    }
    this.startFuel = counters.used(startFuel);
    this.handle = instance.handle;
    // jco's instance has exactly the component's exports, so these say what the guest has.
    const health = typeof instance.health === "function" ? instance.health : undefined;
    const migrate = typeof instance.migrate === "function" ? instance.migrate : undefined;
    this.optional = { ...(health && { health }), ...(migrate && { migrate }) };
    this.lifecycle = { health: !!health, migrate: !!migrate };
  }

  get memoryBytes(): number {
    let n = 0;
    for (const m of this.memories) n += m.buffer.byteLength;
    return n;
  }

  call(request: string, fuelLimit: number, maxResponseBytes: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    const counters = this.counters;
    counters.reset(fuelLimit);
    // One budget for the sum of the component's memories, set per call (the cap may change).
    counters.setBudget(memoryCapBytes, this.memoryBytes);
    this.lastErrorLog = undefined;
    let out: unknown;
    try {
      out = this.handle(request);
      if (counters.growFailed || counters.fuelLeft < 0n) throw new Error("limit"); // classified from the counters
    } catch (err) {
      const payload = err && typeof err === "object" && "payload" in err ? (err as { payload: unknown }).payload : undefined;
      if (typeof payload === "string" && !counters.growFailed && counters.fuelLeft >= 0n) {
        return { ...this.guestError(payload, false), fuel: counters.used(fuelLimit), memoryBytes: this.memoryBytes, trapped: false };
      }
      const f = classify(err, { counters, fuelLimit, memoryLimitBytes: memoryCapBytes, memoryBytes: this.memoryBytes, lastErrorLog: this.lastErrorLog, phase: "call" });
      return failed(f, fuelLimit, this.memoryBytes, true);
    }
    const fuel = counters.used(fuelLimit);
    const memoryBytes = this.memoryBytes;
    // jco lifts result<string, string>: `out` is a string (a TS/JS guest's wrong return type is
    // caught by the entry Solo bundles around its handle).
    if (typeof out !== "string") return { ok: false, code: "GUEST_TRAP", message: "guest trapped: handle returned something other than a string", fuel, memoryBytes, trapped: true };
    if (out.length > maxResponseBytes || (out.length * 3 > maxResponseBytes && Buffer.byteLength(out) > maxResponseBytes)) {
      return { ok: false, code: "RESOURCE_EXHAUSTED", message: `response is over ${maxResponseBytes} bytes; return less or raise limits.maxResponseBytes`, details: { limitBytes: maxResponseBytes }, fuel, memoryBytes, trapped: false };
    }
    return { ok: true, output: out, fuel, memoryBytes };
  }

  /** Runs health() like a call (see GuestInstance); ok when the guest has none. */
  health(fuelLimit: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    const health = this.optional.health;
    if (!health) return absent(this.memoryBytes);
    return this.runUnit(() => health(), fuelLimit, memoryCapBytes);
  }

  /** Runs migrate(fromVersion) like a call; ok when the guest has none. */
  migrate(fromVersion: number, fuelLimit: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    checkFromVersion(fromVersion);
    const migrate = this.optional.migrate;
    if (!migrate) return absent(this.memoryBytes);
    return this.runUnit(() => migrate(fromVersion), fuelLimit, memoryCapBytes);
  }

  /**
   * What the guest threw (jco's payload: the message, and after JS_STACK_MARKER its QuickJS stack,
   * put there by the entry Solo bundles): GUEST_ERROR whose first line names the guest's line.
   */
  private guestError(payload: string, clipped: boolean): { ok: false; code: "GUEST_ERROR"; message: string; details?: Record<string, unknown> } {
    const { message, stack } = jsFailure(payload, this.source);
    const text = stack?.at ? located(stack.at, message) : message;
    const out = clipped ? clip(text) : text;
    return stack ? { ok: false, code: "GUEST_ERROR", message: out, details: { stack: stack.frames } } : { ok: false, code: "GUEST_ERROR", message: out };
  }

  /**
   * One run of an export returning result<_, string>, metered and classified as call is. jco's
   * glue throws the guest's error as a ComponentError whose `payload` is its string.
   */
  private runUnit(run: () => unknown, fuelLimit: number, memoryCapBytes: number): CallOutcome {
    const counters = this.counters;
    counters.reset(fuelLimit);
    counters.setBudget(memoryCapBytes, this.memoryBytes);
    this.lastErrorLog = undefined;
    try {
      run();
      if (counters.growFailed || counters.fuelLeft < 0n) throw new Error("limit"); // classified from the counters
    } catch (err) {
      const payload = err && typeof err === "object" && "payload" in err ? (err as { payload: unknown }).payload : undefined;
      if (typeof payload === "string" && !counters.growFailed && counters.fuelLeft >= 0n) {
        return { ...this.guestError(payload, true), fuel: counters.used(fuelLimit), memoryBytes: this.memoryBytes, trapped: false };
      }
      const f = classify(err, { counters, fuelLimit, memoryLimitBytes: memoryCapBytes, memoryBytes: this.memoryBytes, lastErrorLog: this.lastErrorLog, phase: "call" });
      return failed(f, fuelLimit, this.memoryBytes, true);
    }
    return { ok: true, output: "", fuel: counters.used(fuelLimit), memoryBytes: this.memoryBytes };
  }
}
