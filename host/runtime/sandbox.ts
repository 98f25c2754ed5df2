// One running instance of a metered single-module guest, with the world's imports bound to a
// GuestEnv by Solo's own canonical-ABI binding (no generated code). Instantiate from a compiled
// WebAssembly.Module: ~0.1-0.5 ms for a small AssemblyScript guest; a call costs one JS->wasm
// crossing plus the string copies. Lives until it traps or is dropped.
import { SoloError } from "../errors.ts";
import { LOG_LEVELS, WIT_ERROR_KINDS, importModuleName, type LifecycleExport } from "../wasm/world.ts";
import { Counters, IMPORT_BASE_FUEL, OutOfFuel, startInstance } from "./counters.ts";
import type { GuestEnv, WitResult } from "./guest-env.ts";
import { absent, checkFromVersion, type GuestInstance } from "./guest-instance.ts";
import { classify, failed, GuestFault, HostFault, MAX_FAILURE_MESSAGE, startError, type CallOutcome } from "./outcome.ts";
import { wasmStack, type GuestSource, type GuestStack } from "./guest-stack.ts";

export type { CallOutcome } from "./outcome.ts";

export interface SandboxOptions {
  encoding: "utf8" | "utf16";
  memoryLimitBytes: number;
  /** Fuel for instantiation and the start function: the service's own per-call fuel. */
  startFuel: number;
  /** Answers the guest's imports. */
  env: GuestEnv;
  /**
   * The optional exports the component declares (artifact.lifecycle, also on its core Runnable);
   * only those are run. Without it, any the module exports as a function of the right arity is:
   * right for what Solo compiled, but a hand-made module may export a "health" its component does not.
   */
  lifecycle?: readonly LifecycleExport[];
  /** The guest's file name, for traps mapped to its source (its maps are in the module); none: traps are not mapped. */
  source?: GuestSource;
}

interface Exports {
  memory: WebAssembly.Memory;
  handle(ptr: number, len: number): number;
  cabi_realloc(old: number, oldSize: number, align: number, size: number): number;
  /** Optional: result<_, string> through a return pointer. */
  health?(): number;
  migrate?(fromVersion: number): number;
}

/**
 * The longest string an import takes (the largest kv value or request any limit allows): past it
 * the call traps before the host decodes anything (V8 cannot hold strings much over 512 MB).
 */
export const MAX_ARGUMENT_BYTES = 64 * 1024 * 1024;

/** The longest log line kept; longer ones are cut before they are decoded. */
export const MAX_LOG_BYTES = 8192;

const utf8Decoder = new TextDecoder("utf-8", { fatal: false });
const utf8Encoder = new TextEncoder();

export class Sandbox implements GuestInstance {
  env: GuestEnv;
  readonly lifecycle: { health: boolean; migrate: boolean };
  private readonly exports: Exports;
  private readonly counters: Counters;
  private readonly encoding: "utf8" | "utf16";
  private readonly memoryLimitBytes: number;
  /** The last error-level log line, used as a trap's message (AssemblyScript's abort logs it). */
  private lastErrorLog: string | undefined;
  /** A trap's stack in the guest's source (read from the module's maps only when it traps). */
  private readonly trace: ((thrown: unknown) => GuestStack | undefined) | undefined;

  private constructor(module: WebAssembly.Module, options: SandboxOptions) {
    this.env = options.env;
    const source = options.source;
    this.trace = source && ((thrown) => wasmStack(thrown, module, source));
    this.encoding = options.encoding;
    this.memoryLimitBytes = options.memoryLimitBytes;
    const instance = new WebAssembly.Instance(module, this.imports());
    this.exports = instance.exports as unknown as Exports;
    const has = (name: LifecycleExport) => {
      const f = this.exports[name];
      return typeof f === "function" && (options.lifecycle ? options.lifecycle.includes(name) : f.length === (name === "migrate" ? 1 : 0));
    };
    this.lifecycle = { health: has("health"), migrate: has("migrate") };
    // Only benchmarks run an unmetered module (their baseline): it gets counters nobody reads.
    this.counters = Counters.of(instance.exports) ?? new Counters();
  }

  /**
   * Instantiates and starts the guest within its limits. Failures are SoloErrors:
   * VALIDATION_FAILED (does not link), MEMORY_LIMIT, FUEL_EXHAUSTED, GUEST_TRAP.
   */
  static create(module: WebAssembly.Module, options: SandboxOptions): Sandbox {
    let sandbox: Sandbox;
    try {
      sandbox = new Sandbox(module, options);
    } catch (err) {
      if (err instanceof WebAssembly.LinkError) throw new SoloError("VALIDATION_FAILED", `guest does not link against the solo:agent world: ${err.message}`);
      throw new SoloError("GUEST_TRAP", `guest could not be instantiated: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { counters } = sandbox;
    counters.reset(options.startFuel);
    try {
      startInstance(sandbox.exports as unknown as WebAssembly.Exports, counters, options.memoryLimitBytes, sandbox.memoryBytes);
    } catch (err) {
      throw startError(err, { counters, fuelLimit: options.startFuel, memoryLimitBytes: options.memoryLimitBytes, memoryBytes: sandbox.memoryBytes, lastErrorLog: sandbox.lastErrorLog, trace: sandbox.trace });
    }
    return sandbox;
  }

  get memoryBytes(): number {
    return this.exports.memory.buffer.byteLength;
  }

  /**
   * Runs handle(request) with `fuelLimit` units, growing at most to `memoryCapBytes` (its own
   * limit, or less when its tenant's other instances hold the rest of the tenant's quota). A
   * trapped sandbox must not be called again.
   */
  call(request: string, fuelLimit: number, maxResponseBytes: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    const { counters } = this;
    // Lowering the request runs guest code (cabi_realloc); it is charged to the call.
    counters.reset(fuelLimit);
    counters.setBudget(memoryCapBytes, this.memoryBytes);
    this.lastErrorLog = undefined;
    let tag: number;
    let text: string;
    let len: number;
    try {
      const [ptr, n] = this.writeString(request);
      const retPtr = this.exports.handle(ptr, n);
      if (counters.growFailed) throw new GuestFault("memory limit"); // classified MEMORY_LIMIT below
      const view = this.view(retPtr, 12);
      tag = view.getUint8(0);
      const at = view.getUint32(4, true);
      len = view.getUint32(8, true);
      // len counts UTF-16 code units or UTF-8 bytes; either is at most the UTF-8 size.
      if (len > maxResponseBytes) return this.tooLarge(len, maxResponseBytes, counters.used(fuelLimit));
      text = this.readString(at, len);
    } catch (err) {
      const f = classify(err, { counters, fuelLimit, memoryLimitBytes: memoryCapBytes, memoryBytes: this.memoryBytes, lastErrorLog: this.lastErrorLog, phase: "call", trace: this.trace });
      return failed(f, fuelLimit, this.memoryBytes, true);
    }
    const fuel = counters.used(fuelLimit);
    const memoryBytes = this.memoryBytes;
    if (tag !== 0) return { ok: false, code: "GUEST_ERROR", message: text, fuel, memoryBytes, trapped: false };
    if (this.encoding === "utf16" && len * 3 > maxResponseBytes) {
      const size = Buffer.byteLength(text);
      if (size > maxResponseBytes) return this.tooLarge(size, maxResponseBytes, fuel);
    }
    return { ok: true, output: text, fuel, memoryBytes };
  }

  /** Runs health() like a call (see GuestInstance); ok when the guest has none. */
  health(fuelLimit: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    if (!this.lifecycle.health) return absent(this.memoryBytes);
    return this.runUnit(() => this.exports.health!(), fuelLimit, memoryCapBytes);
  }

  /** Runs migrate(fromVersion) like a call; ok when the guest has none. */
  migrate(fromVersion: number, fuelLimit: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    checkFromVersion(fromVersion);
    if (!this.lifecycle.migrate) return absent(this.memoryBytes);
    // A u32 crosses the core ABI as an i32 with the same bits.
    return this.runUnit(() => this.exports.migrate!(fromVersion | 0), fuelLimit, memoryCapBytes);
  }

  /**
   * One run of an export returning result<_, string>: the same counters, budget and
   * classification as call, apart from it so handle's path stays as it is. The error text is
   * read up to MAX_FAILURE_MESSAGE units.
   */
  private runUnit(run: () => number, fuelLimit: number, memoryCapBytes: number): CallOutcome {
    const { counters } = this;
    counters.reset(fuelLimit);
    counters.setBudget(memoryCapBytes, this.memoryBytes);
    this.lastErrorLog = undefined;
    let message: string | undefined;
    try {
      const retPtr = run();
      if (counters.growFailed) throw new GuestFault("memory limit"); // classified MEMORY_LIMIT below
      const view = this.view(retPtr, 12);
      if (view.getUint8(0) !== 0) {
        const len = view.getUint32(8, true);
        const keep = Math.min(len, MAX_FAILURE_MESSAGE);
        message = this.readString(view.getUint32(4, true), keep);
        if (keep < len) message += `... (clipped, ${len} chars)`;
      }
    } catch (err) {
      const f = classify(err, { counters, fuelLimit, memoryLimitBytes: memoryCapBytes, memoryBytes: this.memoryBytes, lastErrorLog: this.lastErrorLog, phase: "call", trace: this.trace });
      return failed(f, fuelLimit, this.memoryBytes, true);
    }
    const fuel = counters.used(fuelLimit);
    if (message !== undefined) return { ok: false, code: "GUEST_ERROR", message, fuel, memoryBytes: this.memoryBytes, trapped: false };
    return { ok: true, output: "", fuel, memoryBytes: this.memoryBytes };
  }

  private tooLarge(size: number, max: number, fuel: number): CallOutcome {
    return { ok: false, code: "RESOURCE_EXHAUSTED", message: `response is over ${max} bytes (at least ${size}); return less or raise limits.maxResponseBytes`, details: { limitBytes: max }, fuel, memoryBytes: this.memoryBytes, trapped: false };
  }

  // ---- guest memory, every access bounds-checked: a bad pointer is the guest's fault ----

  private view(ptr: number, size: number): DataView {
    const buf = this.exports.memory.buffer;
    if (ptr < 0 || ptr + size > buf.byteLength) throw new GuestFault(`the guest gave the host a pointer outside its memory (${ptr}+${size} > ${buf.byteLength})`);
    return new DataView(buf, ptr, size);
  }

  private bytes(ptr: number, size: number): Uint8Array {
    const buf = this.exports.memory.buffer;
    if (ptr < 0 || ptr + size > buf.byteLength) throw new GuestFault(`the guest gave the host a pointer outside its memory (${ptr}+${size} > ${buf.byteLength})`);
    return new Uint8Array(buf, ptr, size);
  }

  /** Bytes a string of `len` units occupies in guest memory. */
  private size(len: number): number {
    return this.encoding === "utf16" ? len * 2 : len;
  }

  private writeString(s: string): [number, number] {
    const ex = this.exports;
    if (this.encoding === "utf16") {
      const len = s.length;
      const ptr = ex.cabi_realloc(0, 0, 2, len * 2);
      if (ptr & 1) throw new GuestFault("cabi_realloc returned a misaligned pointer for a UTF-16 string");
      const target = this.bytes(ptr, len * 2);
      const units = new Uint16Array(target.buffer, target.byteOffset, len);
      for (let i = 0; i < len; i++) units[i] = s.charCodeAt(i);
      return [ptr, len];
    }
    const encoded = utf8Encoder.encode(s);
    const ptr = ex.cabi_realloc(0, 0, 1, encoded.length);
    this.bytes(ptr, encoded.length).set(encoded);
    return [ptr, encoded.length];
  }

  private readString(ptr: number, len: number): string {
    const b = this.bytes(ptr, this.size(len));
    if (this.encoding === "utf16") {
      // Code units as they are, lone surrogates included (a decoder would turn them into U+FFFD
      // and make two different kv keys one): kv refuses strings that are not well-formed.
      if (len < 32 && (ptr & 1) === 0) return String.fromCharCode.apply(null, new Uint16Array(b.buffer, ptr, len) as unknown as number[]);
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf16le");
    }
    return utf8Decoder.decode(b);
  }

  /** Charges a host import: its base cost plus the bytes it will touch, before touching them. */
  private charge(units: number) {
    this.counters.charge(IMPORT_BASE_FUEL + units);
  }

  /** A string argument: charged by its size, then bounds-checked and decoded. */
  private arg(ptr: number, len: number): string {
    len >>>= 0; // an i32 from the guest: its length is unsigned
    this.charge(this.size(len));
    if (this.size(len) > MAX_ARGUMENT_BYTES) throw new GuestFault(`a string argument of ${this.size(len)} bytes is over the host's limit of ${MAX_ARGUMENT_BYTES}`);
    return this.readString(ptr, len);
  }

  private writeU8(at: number, v: number) {
    this.view(at, 1).setUint8(0, v);
  }

  private writeU32(at: number, v: number) {
    this.view(at, 4).setUint32(0, v, true);
  }

  /** Writes a string (ptr @at, len @at+4). Allocation happens first: it may move the buffer. */
  private writeStringAt(at: number, s: string) {
    this.charge(s.length * 2);
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

  /** Every import: a fault of the host's own code is a HostFault, never mistaken for the guest's. */
  private guard<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    return (...args: A) => {
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof OutOfFuel || err instanceof GuestFault || err instanceof HostFault) throw err;
        // A trap inside the guest's own cabi_realloc, called back from here, is the guest's.
        if (err instanceof WebAssembly.RuntimeError || err instanceof RangeError) throw err;
        throw new HostFault(err);
      }
    };
  }

  private imports(): WebAssembly.Imports {
    const arg = (ptr: number, len: number) => this.arg(ptr, len);
    const g = <A extends unknown[], R>(fn: (...args: A) => R) => this.guard(fn);
    return {
      [importModuleName("log")]: {
        log: g((level: number, ptr: number, len: number) => {
          len >>>= 0;
          // Charged in full, decoded only up to MAX_LOG_BYTES.
          this.charge(this.size(len));
          const keep = Math.min(len, this.encoding === "utf16" ? MAX_LOG_BYTES / 2 : MAX_LOG_BYTES);
          let message = this.readString(ptr, keep);
          if (keep < len) message += ` ... (clipped, ${this.size(len)} bytes)`;
          const name = LOG_LEVELS[level] ?? "info";
          if (name === "error") this.lastErrorLog = message;
          this.env.log(name, message);
        }),
      },
      [importModuleName("kv")]: {
        get: g((kp: number, kl: number, ret: number) =>
          this.writeResult(ret, this.env.kvGet(arg(kp, kl)), (v, at) => {
            if (v === undefined) this.writeU8(at, 0);
            else {
              this.writeStringAt(at + 4, v);
              this.writeU8(at, 1);
            }
          })),
        set: g((kp: number, kl: number, vp: number, vl: number, ret: number) => this.writeResult(ret, this.env.kvSet(arg(kp, kl), arg(vp, vl)))),
        delete: g((kp: number, kl: number, ret: number) => this.writeResult(ret, this.env.kvDelete(arg(kp, kl)))),
        keys: g((pp: number, pl: number, ret: number) => {
          this.charge(this.env.kvCount()); // the scan looks at every key: charged before it runs
          this.writeResult(ret, this.env.kvKeys(arg(pp, pl)), (keys, at) => {
            this.charge(keys.length * 8);
            const list = this.exports.cabi_realloc(0, 0, 4, keys.length * 8);
            keys.forEach((k, i) => this.writeStringAt(list + i * 8, k));
            this.writeU32(at, list);
            this.writeU32(at + 4, keys.length);
          });
        }),
      },
      [importModuleName("clock")]: {
        "now-ms": g(() => (this.charge(0), this.env.nowMs())),
        "monotonic-ns": g(() => (this.charge(0), this.env.monotonicNs())),
      },
      [importModuleName("random")]: { "next-u64": g(() => (this.charge(0), this.env.nextU64())) },
      [importModuleName("secrets")]: {
        get: g((np: number, nl: number, ret: number) => this.writeResult(ret, this.env.secretGet(arg(np, nl)), (v, at) => this.writeStringAt(at, v))),
      },
      [importModuleName("services")]: {
        call: g((sp: number, sl: number, rp: number, rl: number, ret: number) =>
          this.writeResult(ret, this.env.serviceCall(arg(sp, sl), arg(rp, rl), this.counters), (v, at) => this.writeStringAt(at, v))),
      },
      [importModuleName("events")]: {
        emit: g((kp: number, kl: number, dp: number, dl: number, ret: number) => this.writeResult(ret, this.env.emit(arg(kp, kl), arg(dp, dl)))),
      },
    };
  }
}
