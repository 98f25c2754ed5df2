// One running instance of a multi-module component (a QuickJS guest), wired by jco's generated
// glue. Its core modules are metered with shared counters: one fuel global, one memory limit and
// one grow flag, imported by every module from "solo:meter". Instantiate ~10-30 ms; a call adds
// jco's per-call bookkeeping (~20-60 us) to the guest's own time.
import { SoloError } from "../errors.ts";
import { COUNTER_MODULE, PAGE } from "../wasm/meter.ts";
import { LOG_LEVELS, type LogLevel } from "../wasm/world.ts";
import type { GuestEnv, WitResult } from "./guest-env.ts";
import type { GuestInstance } from "./guest-instance.ts";
import type { CallOutcome } from "./sandbox.ts";

export interface Glue {
  instantiate(
    getCoreModule: (name: string) => WebAssembly.Module,
    imports: Record<string, Record<string, unknown>>,
    instantiateCore: (m: WebAssembly.Module, imports: WebAssembly.Imports) => WebAssembly.Instance,
  ): { handle(request: string): unknown };
}

/** A WIT error as jco expects a host import to throw it. */
class WitFailure extends Error {
  constructor(readonly payload: { tag: string; val: string }) {
    super(`${payload.tag}: ${payload.val}`);
  }
}

function unwrap<T>(r: WitResult<T>): T {
  if (r.ok) return r.value;
  throw new WitFailure({ tag: r.kind, val: r.message });
}

export class GlueSandbox implements GuestInstance {
  private readonly fuel = new WebAssembly.Global({ value: "i64", mutable: true }, 0n);
  private readonly limit: WebAssembly.Global;
  private readonly failed = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  private readonly memories: WebAssembly.Memory[] = [];
  private readonly handle: (request: string) => unknown;
  private lastErrorLog: string | undefined;

  constructor(glue: Glue, modules: Record<string, WebAssembly.Module>, env: GuestEnv, private readonly memoryLimitBytes: number, startFuel: bigint) {
    this.limit = new WebAssembly.Global({ value: "i32", mutable: true }, Math.floor(memoryLimitBytes / PAGE));
    this.fuel.value = startFuel;
    const counters = { fuel: this.fuel, memory_limit: this.limit, grow_failed: this.failed };
    const log = (level: LogLevel, message: string) => {
      if (level === "error") this.lastErrorLog = message;
      env.log(LOG_LEVELS.includes(level) ? level : "info", message);
    };
    const imports = {
      "solo:agent/log": { log },
      "solo:agent/kv": {
        get: (k: string) => unwrap(env.kvGet(k)),
        set: (k: string, v: string) => unwrap(env.kvSet(k, v)),
        delete: (k: string) => unwrap(env.kvDelete(k)),
        keys: (p: string) => unwrap(env.kvKeys(p)),
      },
      "solo:agent/clock": { nowMs: () => BigInt(Date.now()), monotonicNs: () => process.hrtime.bigint() },
      "solo:agent/random": { nextU64: () => env.nextU64() },
      "solo:agent/secrets": { get: (n: string) => unwrap(env.secretGet(n)) },
      "solo:agent/services": { call: (s: string, r: string) => unwrap(env.serviceCall(s, r)) },
      "solo:agent/events": { emit: (k: string, d: string) => unwrap(env.emit(k, d)) },
    };
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
          const inst = new WebAssembly.Instance(m, { ...imps, [COUNTER_MODULE]: counters });
          for (const v of Object.values(inst.exports)) if (v instanceof WebAssembly.Memory) this.memories.push(v);
          return inst;
        },
      );
    } catch (err) {
      if (err instanceof SoloError) throw err;
      if (this.failed.value !== 0) throw new SoloError("MEMORY_LIMIT", `guest needs more than ${memoryLimitBytes} bytes of memory to start`);
      if ((this.fuel.value as bigint) < 0n) throw new SoloError("FUEL_EXHAUSTED", "guest used all its start fuel while starting");
      throw new SoloError("GUEST_TRAP", `guest trapped while starting: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.handle = instance.handle;
    if (this.memoryBytes > memoryLimitBytes) {
      throw new SoloError("MEMORY_LIMIT", `guest starts with ${this.memoryBytes} bytes of memory; the limit is ${memoryLimitBytes}`, { memoryBytes: this.memoryBytes, limitBytes: memoryLimitBytes });
    }
  }

  get memoryBytes(): number {
    let n = 0;
    for (const m of this.memories) n += m.buffer.byteLength;
    return n;
  }

  call(request: string, fuelLimit: number, maxResponseBytes: number): CallOutcome {
    this.fuel.value = BigInt(fuelLimit);
    this.failed.value = 0;
    this.lastErrorLog = undefined;
    let out: unknown;
    let thrown: unknown;
    let threw = false;
    try {
      out = this.handle(request);
    } catch (err) {
      threw = true;
      thrown = err;
    }
    const left = this.fuel.value as bigint;
    const fuel = left < 0n ? fuelLimit : fuelLimit - Number(left);
    const memoryBytes = this.memoryBytes;
    // The host's own accounting decides, whatever the guest made of it (QuickJS may catch OOM).
    if (this.failed.value !== 0) {
      return { ok: false, code: "MEMORY_LIMIT", message: `guest tried to grow its memory past ${this.memoryLimitBytes} bytes; use less memory or raise limits.memoryBytes`, fuel, memoryBytes, trapped: true };
    }
    if (left < 0n) {
      return { ok: false, code: "FUEL_EXHAUSTED", message: `guest used all ${fuelLimit} units of fuel for this call; make it do less work or raise limits.fuel`, details: { fuelLimit }, fuel, memoryBytes, trapped: true };
    }
    if (threw) {
      const payload = thrown && typeof thrown === "object" && "payload" in thrown ? (thrown as { payload: unknown }).payload : undefined;
      if (typeof payload === "string") return { ok: false, code: "GUEST_ERROR", message: payload, fuel, memoryBytes, trapped: false };
      const text = thrown instanceof Error ? thrown.message : String(thrown);
      const reason = thrown instanceof RangeError && /call stack/i.test(text) ? "stack overflow" : text;
      return { ok: false, code: "GUEST_TRAP", message: `guest trapped: ${this.lastErrorLog ? `${this.lastErrorLog} (${reason})` : reason}`, fuel, memoryBytes, trapped: true };
    }
    // jco lifts result<string, string>: `out` is a string (a TS/JS guest's wrong return type is
    // caught by the entry Solo bundles around its handle).
    if (typeof out !== "string") return { ok: false, code: "INTERNAL", message: "the component's glue returned a non-string from handle", fuel, memoryBytes, trapped: true };
    if (out.length > maxResponseBytes || (out.length * 3 > maxResponseBytes && Buffer.byteLength(out) > maxResponseBytes)) {
      return { ok: false, code: "RESOURCE_EXHAUSTED", message: `response is over ${maxResponseBytes} bytes; return less or raise limits.maxResponseBytes`, details: { limitBytes: maxResponseBytes }, fuel, memoryBytes, trapped: false };
    }
    return { ok: true, output: out, fuel, memoryBytes };
  }
}
