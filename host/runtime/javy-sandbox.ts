// A Javy module (a WASI preview-1 command: request on stdin, reply on stdout) behind the minimal
// WASI shim, metered like every other guest. Javy modules keep no state between runs, so each
// call runs `_start` in a fresh instance (instantiate ~0.1-10 ms, depending on the module); the
// instantiation is charged to the call, and WASI calls are charged by the bytes they move.
import { SoloError } from "../errors.ts";
import { Counters, startInstance } from "./counters.ts";
import type { GuestEnv } from "./guest-env.ts";
import { absent, checkFromVersion, type GuestInstance } from "./guest-instance.ts";
import { classify, failed, startError, type CallOutcome } from "./outcome.ts";
import { ProcExit, WasiShim } from "./wasi-shim.ts";

export class JavySandbox implements GuestInstance {
  private last = 0;
  /** A WASI command has one entry point: no optional exports. */
  readonly lifecycle = { health: false, migrate: false } as const;
  readonly startFuel: number;

  constructor(private readonly module: WebAssembly.Module, private readonly env: GuestEnv, private readonly memoryLimitBytes: number, startFuel: number) {
    // Instantiate once now, so a module that cannot start fails at deploy.
    const shim = new WasiShim(0, env);
    const { counters, memory, exports } = this.instantiate(shim);
    counters.reset(startFuel);
    try {
      startInstance(exports, counters, memoryLimitBytes, memory.buffer.byteLength);
    } catch (err) {
      throw startError(err, { counters, fuelLimit: startFuel, memoryLimitBytes, memoryBytes: memory.buffer.byteLength });
    }
    this.startFuel = counters.used(startFuel);
  }

  get memoryBytes(): number {
    return this.last;
  }

  health(): CallOutcome {
    return absent(this.memoryBytes);
  }

  migrate(fromVersion: number): CallOutcome {
    checkFromVersion(fromVersion);
    return absent(this.memoryBytes);
  }

  private instantiate(shim: WasiShim) {
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(this.module, shim.imports(this.module));
    } catch (err) {
      if (err instanceof WebAssembly.LinkError) throw new SoloError("VALIDATION_FAILED", `javy module does not link: ${err.message}`);
      throw new SoloError("GUEST_TRAP", `javy module could not be instantiated: ${(err as Error).message}`);
    }
    const exports = instance.exports;
    const memory = exports.memory;
    if (!(memory instanceof WebAssembly.Memory) || typeof exports._start !== "function") {
      throw new SoloError("VALIDATION_FAILED", `a javy module must export a memory "memory" and a function "_start" (a WASI command)`, { item: "exports" });
    }
    const counters = Counters.of(exports);
    if (!counters) throw new SoloError("INTERNAL", "javy module is not metered");
    shim.attach(memory, counters);
    return { exports, memory, counters };
  }

  call(request: string, fuelLimit: number, maxResponseBytes: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    const shim = new WasiShim(maxResponseBytes, this.env);
    shim.begin(Buffer.from(request, "utf8"));
    let run;
    try {
      run = this.instantiate(shim);
    } catch (err) {
      const e = err as SoloError;
      return { ok: false, code: e.code ?? "GUEST_TRAP", message: e.message, fuel: 0, memoryBytes: 0, trapped: true };
    }
    const { exports, memory, counters } = run;
    counters.reset(fuelLimit);
    let exitCode = 0;
    let trap: unknown;
    let trapped = false;
    try {
      startInstance(exports, counters, memoryCapBytes, memory.buffer.byteLength);
      (exports._start as () => void)();
    } catch (err) {
      if (err instanceof ProcExit) exitCode = err.code;
      else {
        trap = err;
        trapped = true;
      }
    }
    const fuel = counters.used(fuelLimit);
    const memoryBytes = (this.last = memory.buffer.byteLength);
    const { stdout, stderr, overflow } = shim.output();
    for (const line of stderr.split("\n")) if (line) this.env.log("warn", line);
    if (trapped || counters.growFailed || counters.fuelLeft < 0n) {
      const f = classify(trap, { counters, fuelLimit, memoryLimitBytes: memoryCapBytes, memoryBytes, lastErrorLog: stderr.trim() || undefined, phase: "call" });
      return failed(f, fuelLimit, memoryBytes, true);
    }
    if (exitCode !== 0) return { ok: false, code: "GUEST_ERROR", message: stderr.trim() || `the module exited with code ${exitCode}`, details: { exitCode }, fuel, memoryBytes, trapped: false };
    if (overflow) return { ok: false, code: "RESOURCE_EXHAUSTED", message: `output is over ${maxResponseBytes} bytes; write less or raise limits.maxResponseBytes`, details: { limitBytes: maxResponseBytes }, fuel, memoryBytes, trapped: false };
    return { ok: true, output: stdout, fuel, memoryBytes };
  }
}
