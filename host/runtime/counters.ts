// The three numbers the meter leaves in every guest: fuel left (i64), memory pages the guest may
// still add (i32) and the flag a refused grow raises (i32). A single-module guest exports its own;
// the modules of one component import one shared set made here. Host imports charge the same fuel,
// so work done on a guest's behalf outside WebAssembly is paid for like its own.
import { SoloError } from "../errors.ts";
import { FUEL_GLOBAL, GROW_FAILED_GLOBAL, INSTANTIATE_FUEL_GLOBAL, MEMORY_BUDGET_GLOBAL, PAGE, SHARED, START_EXPORT } from "../wasm/meter.ts";

/** Thrown (from a host import) when a charge takes fuel below zero; classified FUEL_EXHAUSTED. */
export class OutOfFuel extends Error {
  constructor() {
    super("fuel exhausted in a host call");
  }
}

/** What a host import costs: a fixed part, plus one unit per byte it reads or writes. */
export const IMPORT_BASE_FUEL = 100;

export class Counters {
  constructor(
    readonly fuel: WebAssembly.Global = new WebAssembly.Global({ value: "i64", mutable: true }, 0n),
    readonly budget: WebAssembly.Global = new WebAssembly.Global({ value: "i32", mutable: true }, 0),
    readonly failed: WebAssembly.Global = new WebAssembly.Global({ value: "i32", mutable: true }, 0),
  ) {}

  /** A metered module's own counters, from its exports; undefined for an unmetered module. */
  static of(exports: WebAssembly.Exports): Counters | undefined {
    const fuel = exports[FUEL_GLOBAL];
    if (!(fuel instanceof WebAssembly.Global)) return undefined;
    return new Counters(fuel, exports[MEMORY_BUDGET_GLOBAL] as WebAssembly.Global, exports[GROW_FAILED_GLOBAL] as WebAssembly.Global);
  }

  /** The import object a shared-counter module links against ("solo:meter"). */
  imports(): Record<string, WebAssembly.Global> {
    return { [SHARED.fuel]: this.fuel, [SHARED.budget]: this.budget, [SHARED.failed]: this.failed };
  }

  get fuelLeft(): bigint {
    return this.fuel.value as bigint;
  }

  get growFailed(): boolean {
    return this.failed.value !== 0;
  }

  /** Starts a run: `units` of fuel, the grow flag down. */
  reset(units: number): void {
    this.fuel.value = BigInt(units);
    this.failed.value = 0;
  }

  /** Fuel used by a run that started with `limit`. */
  used(limit: number): number {
    const left = this.fuelLeft;
    return left < 0n ? limit : limit - Number(left);
  }

  /** Takes `units` of fuel; throws OutOfFuel (counter left below zero) when there is not enough. */
  charge(units: number): void {
    if (!(units >= 0)) throw new RangeError(`a charge of ${units} units`); // never a refund
    const left = (this.fuel.value as bigint) - BigInt(units);
    this.fuel.value = left;
    if (left < 0n) throw new OutOfFuel();
  }

  /** Sets the budget to what `limitBytes` leaves after `usedBytes`; false when already over. */
  setBudget(limitBytes: number, usedBytes: number): boolean {
    const pages = Math.floor(limitBytes / PAGE) - Math.ceil(usedBytes / PAGE);
    this.budget.value = Math.max(0, pages);
    return pages >= 0;
  }
}

/**
 * Brings one fresh metered instance up inside its service's limits: checks its memory against the
 * budget, charges its instantiation, and runs its start function (which the meter turned into the
 * `solo_start` export so that it never runs before these are in place). Throws whatever the start
 * function throws; the caller classifies it with the counters.
 */
export function startInstance(exports: WebAssembly.Exports, counters: Counters, memoryLimitBytes: number, usedBytes: number): void {
  if (!counters.setBudget(memoryLimitBytes, usedBytes)) {
    throw new SoloError("MEMORY_LIMIT", `guest starts with ${usedBytes} bytes of memory; the limit is ${memoryLimitBytes}`, { memoryBytes: usedBytes, limitBytes: memoryLimitBytes });
  }
  const cost = exports[INSTANTIATE_FUEL_GLOBAL];
  if (cost instanceof WebAssembly.Global) counters.charge(Number(cost.value));
  const start = exports[START_EXPORT];
  if (typeof start === "function") (start as () => void)();
  // A refused grow is the host's decision even if the start code carried on (classified MEMORY_LIMIT).
  if (counters.growFailed) throw new Error("memory limit reached while starting");
}
