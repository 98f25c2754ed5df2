// One running instance of a metered guest module, with the world's imports bound to a GuestEnv.
// Instantiate from a compiled WebAssembly.Module: ~0.1-0.5 ms for a small AssemblyScript guest;
// a call costs one JS->wasm crossing plus the string copies. Lives until it traps or is dropped.
import { SoloError, type ErrorCode } from "../errors.ts";
import { FUEL_GLOBAL, GROW_FAILED_GLOBAL, MEMORY_LIMIT_GLOBAL, PAGE } from "../wasm/meter.ts";
import { LOG_LEVELS, WIT_ERROR_KINDS, importModuleName } from "../wasm/world.ts";
import type { GuestEnv, WitResult } from "./guest-env.ts";

export interface SandboxOptions {
  encoding: "utf8" | "utf16";
  memoryLimitBytes: number;
  /** Answers the guest's imports. (Start-function fuel is baked into the metered module.) */
  env: GuestEnv;
}

export type CallOutcome =
  | { ok: true; output: string; fuel: number; memoryBytes: number }
  | { ok: false; code: ErrorCode; message: string; details?: Record<string, unknown>; fuel: number; memoryBytes: number; trapped: boolean };

interface Exports {
  memory: WebAssembly.Memory;
  handle(ptr: number, len: number): number;
  cabi_realloc(old: number, oldSize: number, align: number, size: number): number;
  [FUEL_GLOBAL]: WebAssembly.Global;
  [MEMORY_LIMIT_GLOBAL]: WebAssembly.Global;
  [GROW_FAILED_GLOBAL]: WebAssembly.Global;
}

// Stand-ins for the meter's globals when a module is not metered: only benchmarks run such a
// module (as the baseline); every module the host runs comes metered from the ArtifactStore.
const unmeteredGlobals = () => ({
  [FUEL_GLOBAL]: new WebAssembly.Global({ value: "i64", mutable: true }, 0n),
  [MEMORY_LIMIT_GLOBAL]: new WebAssembly.Global({ value: "i32", mutable: true }, 0),
  [GROW_FAILED_GLOBAL]: new WebAssembly.Global({ value: "i32", mutable: true }, 0),
});

const utf8Decoder = new TextDecoder("utf-8", { fatal: false });
const utf16Decoder = new TextDecoder("utf-16le", { fatal: false });
const utf8Encoder = new TextEncoder();

export class Sandbox {
  env: GuestEnv;
  private readonly exports: Exports;
  private readonly encoding: "utf8" | "utf16";
  /** The last error-level log line, used as a trap's message (AssemblyScript's abort logs it). */
  private lastErrorLog: string | undefined;

  private constructor(module: WebAssembly.Module, options: SandboxOptions) {
    this.env = options.env;
    this.encoding = options.encoding;
    const instance = new WebAssembly.Instance(module, this.imports());
    this.exports = (FUEL_GLOBAL in instance.exports ? instance.exports : { ...instance.exports, ...unmeteredGlobals() }) as unknown as Exports;
    this.exports[MEMORY_LIMIT_GLOBAL].value = Math.floor(options.memoryLimitBytes / PAGE);
  }

  /** Instantiates (runs the start function). Failures are SoloErrors: MEMORY_LIMIT, FUEL_EXHAUSTED, GUEST_TRAP. */
  static create(module: WebAssembly.Module, options: SandboxOptions): Sandbox {
    let sandbox: Sandbox;
    try {
      sandbox = new Sandbox(module, options);
    } catch (err) {
      if (err instanceof WebAssembly.LinkError) throw new SoloError("VALIDATION_FAILED", `guest does not link against the solo:agent world: ${err.message}`);
      throw new SoloError("GUEST_TRAP", `guest trapped while starting: ${err instanceof Error ? err.message : String(err)}`);
    }
    const bytes = sandbox.memoryBytes;
    if (bytes > options.memoryLimitBytes) {
      throw new SoloError("MEMORY_LIMIT", `guest starts with ${bytes} bytes of memory; the limit is ${options.memoryLimitBytes}`, { memoryBytes: bytes, limitBytes: options.memoryLimitBytes });
    }
    return sandbox;
  }

  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /** Runs handle(request) with `fuelLimit` units. A trapped sandbox must not be called again. */
  call(request: string, fuelLimit: number, maxResponseBytes: number): CallOutcome {
    const ex = this.exports;
    const fuelGlobal = ex[FUEL_GLOBAL];
    // Lowering the request runs guest code (cabi_realloc); it is charged to the call.
    fuelGlobal.value = BigInt(fuelLimit);
    ex[GROW_FAILED_GLOBAL].value = 0;
    this.lastErrorLog = undefined;
    let retPtr: number;
    try {
      const [ptr, len] = this.writeString(request);
      retPtr = ex.handle(ptr, len);
    } catch (err) {
      return this.trapOutcome(err, fuelLimit);
    }
    const fuel = this.fuelUsed(fuelLimit);
    const memoryBytes = this.memoryBytes;
    if (ex[GROW_FAILED_GLOBAL].value !== 0) {
      return { ok: false, code: "MEMORY_LIMIT", message: this.memoryMessage(), fuel, memoryBytes, trapped: true };
    }
    const view = new DataView(ex.memory.buffer);
    const tag = view.getUint8(retPtr);
    const ptr = view.getUint32(retPtr + 4, true);
    const len = view.getUint32(retPtr + 8, true);
    // len counts UTF-16 code units or UTF-8 bytes; either is at most the UTF-8 size.
    if (len > maxResponseBytes) return this.tooLarge(len, maxResponseBytes, fuel, memoryBytes);
    const text = this.readString(ptr, len);
    if (tag !== 0) return { ok: false, code: "GUEST_ERROR", message: text, fuel, memoryBytes, trapped: false };
    if (this.encoding === "utf16" && len * 3 > maxResponseBytes) {
      const size = Buffer.byteLength(text);
      if (size > maxResponseBytes) return this.tooLarge(size, maxResponseBytes, fuel, memoryBytes);
    }
    return { ok: true, output: text, fuel, memoryBytes };
  }

  private tooLarge(size: number, max: number, fuel: number, memoryBytes: number): CallOutcome {
    return { ok: false, code: "RESOURCE_EXHAUSTED", message: `response is over ${max} bytes (at least ${size}); return less or raise limits.maxResponseBytes`, details: { limitBytes: max }, fuel, memoryBytes, trapped: false };
  }

  private fuelUsed(limit: number): number {
    const left = this.exports[FUEL_GLOBAL].value as bigint;
    return left < 0n ? limit : limit - Number(left);
  }

  private memoryMessage(): string {
    const limit = (this.exports[MEMORY_LIMIT_GLOBAL].value as number) * PAGE;
    return `guest tried to grow its memory past ${limit} bytes (it has ${this.memoryBytes}); use less memory or raise limits.memoryBytes`;
  }

  private trapOutcome(err: unknown, fuelLimit: number): CallOutcome {
    const fuel = this.fuelUsed(fuelLimit);
    let memoryBytes = 0;
    try {
      memoryBytes = this.memoryBytes;
    } catch { /* memory unavailable */ }
    const ex = this.exports;
    if (ex[GROW_FAILED_GLOBAL].value !== 0) return { ok: false, code: "MEMORY_LIMIT", message: this.memoryMessage(), fuel, memoryBytes, trapped: true };
    if ((ex[FUEL_GLOBAL].value as bigint) < 0n) {
      return { ok: false, code: "FUEL_EXHAUSTED", message: `guest used all ${fuelLimit} units of fuel for this call; make it do less work or raise limits.fuel`, details: { fuelLimit }, fuel, memoryBytes, trapped: true };
    }
    if (err instanceof SoloError) return { ok: false, code: err.code, message: err.message, details: err.details, fuel, memoryBytes, trapped: true };
    const text = err instanceof Error ? err.message : String(err);
    const reason = err instanceof RangeError && /call stack/i.test(text) ? "stack overflow" : text;
    const message = this.lastErrorLog ? `${this.lastErrorLog} (${reason})` : reason;
    if (err instanceof WebAssembly.RuntimeError || err instanceof RangeError) {
      return { ok: false, code: "GUEST_TRAP", message: `guest trapped: ${message}`, fuel, memoryBytes, trapped: true };
    }
    return { ok: false, code: "INTERNAL", message: `host failed during the call: ${text}`, fuel, memoryBytes, trapped: true };
  }

  // ---- strings in guest memory ----

  private writeString(s: string): [number, number] {
    const ex = this.exports;
    if (this.encoding === "utf16") {
      const len = s.length;
      const ptr = ex.cabi_realloc(0, 0, 2, len * 2);
      const units = new Uint16Array(ex.memory.buffer, ptr, len);
      for (let i = 0; i < len; i++) units[i] = s.charCodeAt(i);
      return [ptr, len];
    }
    const bytes = utf8Encoder.encode(s);
    const ptr = ex.cabi_realloc(0, 0, 1, bytes.length);
    new Uint8Array(ex.memory.buffer, ptr, bytes.length).set(bytes);
    return [ptr, bytes.length];
  }

  private readString(ptr: number, len: number): string {
    const buf = this.exports.memory.buffer;
    if (this.encoding === "utf16") {
      if (len < 32) return String.fromCharCode.apply(null, new Uint16Array(buf, ptr, len) as unknown as number[]);
      return utf16Decoder.decode(new Uint8Array(buf, ptr, len * 2));
    }
    return utf8Decoder.decode(new Uint8Array(buf, ptr, len));
  }

  private writeU8(at: number, v: number) {
    new DataView(this.exports.memory.buffer).setUint8(at, v);
  }

  private writeU32(at: number, v: number) {
    new DataView(this.exports.memory.buffer).setUint32(at, v, true);
  }

  /** Writes a string (ptr @at, len @at+4). Allocation happens first: it may move the buffer. */
  private writeStringAt(at: number, s: string) {
    const [ptr, len] = this.writeString(s);
    this.writeU32(at, ptr);
    this.writeU32(at + 4, len);
  }

  /** Writes result<T, error> at ret: tag @0, payload @4 (written by okPayload). */
  private writeResult<T>(ret: number, r: WitResult<T>, okPayload?: (value: T, at: number) => void) {
    if (r.ok) {
      if (okPayload) okPayload(r.value, ret + 4);
      this.writeU8(ret, 0);
      return;
    }
    this.writeStringAt(ret + 8, r.message);
    this.writeU8(ret + 4, WIT_ERROR_KINDS.indexOf(r.kind));
    this.writeU8(ret, 1);
  }

  private imports(): WebAssembly.Imports {
    const str = (ptr: number, len: number) => this.readString(ptr, len);
    return {
      [importModuleName("log")]: {
        log: (level: number, ptr: number, len: number) => {
          const message = str(ptr, len);
          const name = LOG_LEVELS[level] ?? "info";
          if (name === "error") this.lastErrorLog = message;
          this.env.log(name, message);
        },
      },
      [importModuleName("kv")]: {
        get: (kp: number, kl: number, ret: number) =>
          this.writeResult(ret, this.env.kvGet(str(kp, kl)), (v, at) => {
            if (v === undefined) this.writeU8(at, 0);
            else {
              this.writeStringAt(at + 4, v);
              this.writeU8(at, 1);
            }
          }),
        set: (kp: number, kl: number, vp: number, vl: number, ret: number) => this.writeResult(ret, this.env.kvSet(str(kp, kl), str(vp, vl))),
        delete: (kp: number, kl: number, ret: number) => this.writeResult(ret, this.env.kvDelete(str(kp, kl))),
        keys: (pp: number, pl: number, ret: number) =>
          this.writeResult(ret, this.env.kvKeys(str(pp, pl)), (keys, at) => {
            const list = this.exports.cabi_realloc(0, 0, 4, keys.length * 8);
            keys.forEach((k, i) => this.writeStringAt(list + i * 8, k));
            this.writeU32(at, list);
            this.writeU32(at + 4, keys.length);
          }),
      },
      [importModuleName("clock")]: {
        "now-ms": () => BigInt(Date.now()),
        "monotonic-ns": () => process.hrtime.bigint(),
      },
      [importModuleName("random")]: { "next-u64": () => this.env.nextU64() },
      [importModuleName("secrets")]: {
        get: (np: number, nl: number, ret: number) => this.writeResult(ret, this.env.secretGet(str(np, nl)), (v, at) => this.writeStringAt(at, v)),
      },
      [importModuleName("services")]: {
        call: (sp: number, sl: number, rp: number, rl: number, ret: number) =>
          this.writeResult(ret, this.env.serviceCall(str(sp, sl), str(rp, rl)), (v, at) => this.writeStringAt(at, v)),
      },
      [importModuleName("events")]: {
        emit: (kp: number, kl: number, dp: number, dl: number, ret: number) => this.writeResult(ret, this.env.emit(str(kp, kl), str(dp, dl))),
      },
    };
  }
}
