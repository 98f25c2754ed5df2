// One running instance of a metered single-module guest, with the world's imports bound to a
// GuestEnv by Solo's own canonical-ABI binding (no generated code). Instantiate from a compiled
// WebAssembly.Module: ~0.1-0.5 ms for a small AssemblyScript guest; a call costs one JS->wasm
// crossing plus the string copies. Lives until it traps or is dropped.
import { SoloError } from "../errors.ts";
import type { LifecycleExport } from "../wasm/world.ts";
import { Counters, startInstance } from "./counters.ts";
import type { GuestEnv } from "./guest-env.ts";
import { absent, checkFromVersion, type GuestInstance } from "./guest-instance.ts";
import { classify, failed, GuestFault, MAX_FAILURE_MESSAGE, startError, type CallOutcome } from "./outcome.ts";
import { WorldBinding, type BindingState } from "./world-binding.ts";
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

export { MAX_ARGUMENT_BYTES, MAX_LOG_BYTES } from "./world-binding.ts";

export class Sandbox implements GuestInstance {
  readonly lifecycle: { health: boolean; migrate: boolean };
  startFuel = 0;
  private readonly exports: Exports;
  private readonly counters: Counters;
  private readonly encoding: "utf8" | "utf16";
  private readonly memoryLimitBytes: number;
  /** env, counters and the last error log line, shared with the import binding. */
  private readonly state: BindingState;
  private readonly binding: WorldBinding;
  /** A trap's stack in the guest's source (read from the module's maps only when it traps). */
  private readonly trace: ((thrown: unknown) => GuestStack | undefined) | undefined;

  private constructor(module: WebAssembly.Module, options: SandboxOptions) {
    const source = options.source;
    this.trace = source && ((thrown) => wasmStack(thrown, module, source));
    this.encoding = options.encoding;
    this.memoryLimitBytes = options.memoryLimitBytes;
    // The counters are the module's own, known once it is instantiated; imports read them when called.
    this.state = { env: options.env, counters: new Counters(), lastErrorLog: undefined };
    this.binding = new WorldBinding(this.state, options.encoding, () => this.exports.memory, () => this.exports.cabi_realloc);
    const instance = new WebAssembly.Instance(module, this.binding.imports() as WebAssembly.Imports);
    this.exports = instance.exports as unknown as Exports;
    const has = (name: LifecycleExport) => {
      const f = this.exports[name];
      return typeof f === "function" && (options.lifecycle ? options.lifecycle.includes(name) : f.length === (name === "migrate" ? 1 : 0));
    };
    this.lifecycle = { health: has("health"), migrate: has("migrate") };
    // Only benchmarks run an unmetered module (their baseline): it gets counters nobody reads.
    this.counters = Counters.of(instance.exports) ?? new Counters();
    this.state.counters = this.counters;
  }

  get env(): GuestEnv {
    return this.state.env;
  }

  set env(env: GuestEnv) {
    this.state.env = env;
  }

  private get lastErrorLog(): string | undefined {
    return this.state.lastErrorLog;
  }

  private set lastErrorLog(line: string | undefined) {
    this.state.lastErrorLog = line;
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
    sandbox.startFuel = counters.used(options.startFuel);
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

  private view(ptr: number, size: number): DataView {
    return this.binding.view(ptr, size);
  }

  private writeString(s: string): [number, number] {
    return this.binding.writeString(s);
  }

  private readString(ptr: number, len: number): string {
    return this.binding.readString(ptr, len);
  }
}
