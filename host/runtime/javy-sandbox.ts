// A Javy module (a WASI preview-1 command: request on stdin, reply on stdout) behind the minimal
// WASI shim, metered like every other guest. Javy modules keep no state between runs, so each
// call runs `_start` in a fresh instance (instantiate ~0.1-10 ms, depending on the module).
import { SoloError } from "../errors.ts";
import { FUEL_GLOBAL, GROW_FAILED_GLOBAL, MEMORY_LIMIT_GLOBAL, PAGE } from "../wasm/meter.ts";
import type { GuestEnv } from "./guest-env.ts";
import type { GuestInstance } from "./guest-instance.ts";
import type { CallOutcome } from "./sandbox.ts";
import { ProcExit, WasiShim } from "./wasi-shim.ts";

export class JavySandbox implements GuestInstance {
  private last = 0;

  constructor(private readonly module: WebAssembly.Module, private readonly env: GuestEnv, private readonly memoryLimitBytes: number) {
    // Instantiate once now, so a module that cannot start fails at deploy.
    this.instantiate(new WasiShim(0));
  }

  get memoryBytes(): number {
    return this.last;
  }

  private instantiate(shim: WasiShim) {
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(this.module, shim.imports(this.module));
    } catch (err) {
      if (err instanceof WebAssembly.LinkError) throw new SoloError("VALIDATION_FAILED", `javy module does not link: ${err.message}`);
      throw new SoloError("GUEST_TRAP", `javy module trapped while starting: ${(err as Error).message}`);
    }
    const ex = instance.exports as Record<string, unknown>;
    const memory = ex.memory as WebAssembly.Memory;
    shim.memory = memory;
    (ex[MEMORY_LIMIT_GLOBAL] as WebAssembly.Global).value = Math.floor(this.memoryLimitBytes / PAGE);
    if (memory.buffer.byteLength > this.memoryLimitBytes) {
      throw new SoloError("MEMORY_LIMIT", `javy module starts with ${memory.buffer.byteLength} bytes of memory; the limit is ${this.memoryLimitBytes}`);
    }
    return { ex, memory };
  }

  call(request: string, fuelLimit: number, maxResponseBytes: number): CallOutcome {
    const shim = new WasiShim(maxResponseBytes);
    shim.begin(Buffer.from(request, "utf8"));
    let ex: Record<string, unknown>;
    let memory: WebAssembly.Memory;
    try {
      ({ ex, memory } = this.instantiate(shim));
    } catch (err) {
      const e = err as SoloError;
      return { ok: false, code: e.code ?? "GUEST_TRAP", message: e.message, fuel: 0, memoryBytes: 0, trapped: true };
    }
    const fuelGlobal = ex[FUEL_GLOBAL] as WebAssembly.Global;
    const failed = ex[GROW_FAILED_GLOBAL] as WebAssembly.Global;
    fuelGlobal.value = BigInt(fuelLimit);
    let exitCode = 0;
    let trap: unknown;
    try {
      (ex._start as () => void)();
    } catch (err) {
      if (err instanceof ProcExit) exitCode = err.code;
      else trap = err;
    }
    const left = fuelGlobal.value as bigint;
    const fuel = left < 0n ? fuelLimit : fuelLimit - Number(left);
    const memoryBytes = (this.last = memory.buffer.byteLength);
    const { stdout, stderr, overflow } = shim.output();
    for (const line of stderr.split("\n")) if (line) this.env.log("warn", line);
    if (failed.value !== 0) return { ok: false, code: "MEMORY_LIMIT", message: `guest tried to grow its memory past ${this.memoryLimitBytes} bytes; use less memory or raise limits.memoryBytes`, fuel, memoryBytes, trapped: true };
    if (left < 0n) return { ok: false, code: "FUEL_EXHAUSTED", message: `guest used all ${fuelLimit} units of fuel for this call; make it do less work or raise limits.fuel`, details: { fuelLimit }, fuel, memoryBytes, trapped: true };
    if (trap) {
      const text = trap instanceof Error ? trap.message : String(trap);
      return { ok: false, code: "GUEST_TRAP", message: `guest trapped: ${stderr.trim() ? `${stderr.trim()} (${text})` : text}`, fuel, memoryBytes, trapped: true };
    }
    if (exitCode !== 0) return { ok: false, code: "GUEST_ERROR", message: stderr.trim() || `the module exited with code ${exitCode}`, details: { exitCode }, fuel, memoryBytes, trapped: false };
    if (overflow) return { ok: false, code: "RESOURCE_EXHAUSTED", message: `output is over ${maxResponseBytes} bytes; write less or raise limits.maxResponseBytes`, details: { limitBytes: maxResponseBytes }, fuel, memoryBytes, trapped: false };
    return { ok: true, output: stdout, fuel, memoryBytes };
  }
}
