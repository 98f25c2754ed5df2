// Runs a module and its metered twin side by side on the same calls, and records everything a
// guest can observe or leave behind: each call's value or trap, the memory, the globals. With
// fuel enough, metering must change none of it. Costs two instantiations and one memory
// comparison per call (a few pages here).
import { FUEL_GLOBAL } from "../../host/wasm/index.ts";

export type Outcome = { value: unknown } | { trap: string };

export interface Step {
  call: string;
  args: unknown[];
  outcome: Outcome;
  memory: Uint8Array;
  globals: Record<string, unknown>;
  /** Fuel the call used (metered only). */
  fuel?: bigint;
}

export const PLENTY = 1n << 60n;

/** A thrown value as a comparable string: its kind and message (a trap's reason). */
export function trapOf(err: unknown): string {
  return err instanceof Error ? `${err.constructor.name}: ${err.message}` : `thrown: ${String(err)}`;
}

function snapshot(exports: WebAssembly.Exports): { memory: Uint8Array; globals: Record<string, unknown> } {
  const memory = exports.memory instanceof WebAssembly.Memory ? new Uint8Array(exports.memory.buffer).slice() : new Uint8Array();
  const globals: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(exports)) if (v instanceof WebAssembly.Global && !name.startsWith("solo_")) globals[name] = v.value;
  return { memory, globals };
}

/**
 * Instantiates `module` (or continues on `existing`) and makes the calls in order on that one instance. A metered module gets
 * `fuel` before each call (PLENTY by default). Returns the instantiation's trap, or the steps.
 */
export function trace(module: WebAssembly.Module, imports: WebAssembly.Imports, calls: { name: string; args: unknown[] }[], fuel: bigint = PLENTY, existing?: WebAssembly.Instance): { start?: string; steps: Step[]; instance?: WebAssembly.Instance } {
  let instance: WebAssembly.Instance;
  try {
    instance = existing ?? new WebAssembly.Instance(module, imports);
  } catch (err) {
    return { start: trapOf(err), steps: [] };
  }
  const ex = instance.exports;
  const fuelGlobal = ex[FUEL_GLOBAL] as WebAssembly.Global | undefined;
  if (!existing) {
    // A metered module waits for the host: a memory budget (any grow the original may make), fuel,
    // then its start function, which the engine ran for the original at instantiation.
    const budget = ex.solo_memory_budget;
    if (budget instanceof WebAssembly.Global) budget.value = 65536;
    if (fuelGlobal) fuelGlobal.value = PLENTY;
    const start = ex.solo_start;
    if (typeof start === "function") {
      try {
        (start as () => void)();
      } catch (err) {
        return { start: trapOf(err), steps: [] };
      }
    }
  }
  const steps: Step[] = [];
  for (const c of calls) {
    if (fuelGlobal) fuelGlobal.value = fuel;
    let outcome: Outcome;
    try {
      outcome = { value: (ex[c.name] as (...a: unknown[]) => unknown)(...c.args) };
    } catch (err) {
      outcome = { trap: trapOf(err) };
    }
    steps.push({ call: c.name, args: c.args, outcome, ...snapshot(ex), ...(fuelGlobal ? { fuel: fuel - (fuelGlobal.value as bigint) } : {}) });
  }
  return { steps, instance };
}

/** The first difference between two traces (fuel aside), described; undefined when they agree. */
export function difference(plain: ReturnType<typeof trace>, metered: ReturnType<typeof trace>): string | undefined {
  if (plain.start !== metered.start) return `instantiation: original ${plain.start ?? "ok"}, metered ${metered.start ?? "ok"}`;
  for (let i = 0; i < plain.steps.length; i++) {
    const a = plain.steps[i]!;
    const b = metered.steps[i]!;
    const where = `call #${i} ${a.call}(${a.args.map(String).join(", ")})`;
    const av = JSON.stringify(a.outcome, bigints);
    const bv = JSON.stringify(b.outcome, bigints);
    if (av !== bv) return `${where}: original ${av}, metered ${bv}`;
    if (Buffer.compare(a.memory, b.memory) !== 0) {
      if (a.memory.length !== b.memory.length) return `${where}: memory is ${a.memory.length} bytes originally, ${b.memory.length} metered`;
      const at = a.memory.findIndex((x, k) => x !== b.memory[k]);
      return `${where}: memory differs first at byte ${at} (original ${a.memory[at]}, metered ${b.memory[at]})`;
    }
    const ag = JSON.stringify(a.globals, bigints);
    const bg = JSON.stringify(b.globals, bigints);
    if (ag !== bg) return `${where}: globals original ${ag}, metered ${bg}`;
  }
  return undefined;
}

export function bigints(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}n` : v;
}
