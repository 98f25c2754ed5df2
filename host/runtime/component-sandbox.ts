// One running instance of a multi-module component (a QuickJS guest), wired by Solo itself from
// the plan made at build time (wasm/component-plan.ts): core modules instantiated in the graph's
// order, imports bound to other instances' exports, to the world's host functions through Solo's
// canonical-ABI binding (world-binding.ts), or to traps; handle/health/migrate lifted here with
// post-return. No generated JavaScript runs. Metering is the glue runner's: one fuel global, one
// memory budget and one grow flag shared by every module ("solo:meter"), the budget covering the
// sum of all memories, each module's start run under them. A module that imports its memory
// (plan.memories: the builder made every memory an import) gets one from the worker's pool
// (memory-pool.ts) whose snapshot pages are touched ahead: with memories of its own, over half of
// the ~2-3 ms instantiation was page faults under V8 writing the Wizer heap (~5,400 data
// segments); with the pool, ~0.4-0.9 ms, three quarters of it inside V8's instantiation (the
// ~130 exports the builder leaves, wasm/prune-exports.ts; ~220 imports; the shared function
// table; the snapshot's bytes). The plan is read once per plan (wiringOf), so the wiring itself
// is ~30 us. release() gives the memories back. A call adds ~4 us to the guest's own time.
import { SoloError } from "../errors.ts";
import { COUNTER_MODULE } from "../wasm/meter.ts";
import { MEMORY_IMPORT, type MemoryShape } from "../wasm/import-memory.ts";
import { memoryPool, type MemoryPool } from "./memory-pool.ts";
import type { ComponentPlan, LowerOpts, PlanItem, PlanLift } from "../wasm/component-plan.ts";
import { Counters, startInstance } from "./counters.ts";
import type { GuestEnv } from "./guest-env.ts";
import { absent, checkFromVersion, type GuestInstance } from "./guest-instance.ts";
import { classify, clip, failed, GuestFault, HostFault, MAX_FAILURE_MESSAGE, startError, type CallOutcome } from "./outcome.ts";
import { jsFailure, located, type GuestSource } from "./guest-stack.ts";
import { WorldBinding, type BindingState, type Realloc } from "./world-binding.ts";

type Fn = (...args: number[]) => number;

/** A lifted export, resolved: the core function and what its lift needs. */
interface Lifted {
  fn: Fn;
  binding: WorldBinding;
  postReturn?: (ret: number) => void;
}

/** Characters read past MAX_FAILURE_MESSAGE of a lifecycle export's failure: its stack. */
const STACK_ROOM = 16_384;

export class ComponentSandbox implements GuestInstance {
  readonly lifecycle: { health: boolean; migrate: boolean };
  readonly startFuel: number;
  private readonly counters = new Counters();
  private readonly state: BindingState;
  private readonly memories: WebAssembly.Memory[] = [];
  /** Each step's instance's exports (the `exports` getter is a call into V8 each time). */
  private readonly exportsOf: WebAssembly.Exports[] = [];
  /** Handles of resources the component defines: per table, handle -> rep (undefined: free; 0 unused). */
  private readonly tables: (number | undefined)[][];
  private readonly handleFn: Lifted;
  private readonly healthFn: Lifted | undefined;
  private readonly migrateFn: Lifted | undefined;
  /** Memories taken from the pool, with their shapes: given back by release(). */
  private readonly pooled: [WebAssembly.Memory, MemoryShape][] = [];
  private released = false;
  private readonly hostImports = new Map<WorldBinding, ReturnType<WorldBinding["imports"]>>();
  /** The core module each step instantiated (exportsOf's order). */
  private readonly stepModules: number[] = [];

  /**
   * Instantiates and starts the component within its limits. Failures are SoloErrors, as for a
   * single-module guest: VALIDATION_FAILED (does not link), MEMORY_LIMIT, FUEL_EXHAUSTED, GUEST_TRAP.
   */
  /** source: the deploy's file name and the bundle's map, for a thrown error's stack; none: not mapped. */
  /** pool: where imported memories come from and go back to (the worker's own by default). */
  constructor(plan: ComponentPlan, modules: readonly WebAssembly.Module[], env: GuestEnv, private readonly memoryLimitBytes: number, startFuel: number, private readonly source?: GuestSource, private readonly pool: MemoryPool = memoryPool) {
    const counters = this.counters;
    this.state = { env, counters, lastErrorLog: undefined };
    this.tables = [];
    for (let i = 0; i < plan.resourceTables; i++) this.tables.push([undefined]);
    counters.reset(startFuel);
    const wiring = wiringOf(plan);
    const bindings: (WorldBinding | undefined)[] = [];
    const resources: ((h: number) => number | void)[] = [];
    const meterImports = counters.imports();
    try {
      for (const step of wiring.steps) {
        const module = modules[step.module];
        if (!module) throw new SoloError("INTERNAL", `the plan names core module ${step.module}, which the artifact does not have`);
        // The step's import objects are the plan's own, filled here and emptied right after the
        // engine read them (no guest code runs in between, so no other instance can use them meanwhile).
        const { imports } = step;
        let inst: WebAssembly.Instance;
        try {
          for (const w of step.whole) imports[w.name] = this.instance(w.step);
          for (const bag of step.bags) {
            const ns = bag.ns;
            for (let i = 0; i < bag.keys.length; i++) ns[bag.keys[i]!] = this.slot(bag.slots[i]!, wiring, bindings, resources);
          }
          imports[COUNTER_MODULE] = meterImports;
          if (step.shape) {
            let memory: WebAssembly.Memory;
            try {
              memory = pool.take(step.shape);
            } catch (err) {
              // The host could not make a memory (address space, a bad shape): not the guest's crash.
              throw new HostFault(`no memory could be made for the instance: ${(err as Error).message}`);
            }
            this.pooled.push([memory, step.shape]);
            step.memory![MEMORY_IMPORT.name] = memory;
          }
          inst = new WebAssembly.Instance(module, imports);
        } catch (err) {
          if (err instanceof WebAssembly.LinkError) throw new SoloError("VALIDATION_FAILED", `the component's core modules do not link: ${err.message}`);
          throw err;
        } finally {
          empty(step);
        }
        const exports = inst.exports;
        this.exportsOf.push(exports);
        this.stepModules.push(step.module);
        // Every memory counts once, whichever module defines it and however many import it.
        for (const name of memoryExports(module)) {
          const v = exports[name];
          if (v instanceof WebAssembly.Memory && !this.memories.includes(v)) this.memories.push(v);
        }
        startInstance(exports, counters, memoryLimitBytes, this.memoryBytes);
      }
      this.handleFn = this.lift(wiring.handle, wiring, bindings);
      this.healthFn = wiring.health && this.lift(wiring.health, wiring, bindings);
      this.migrateFn = wiring.migrate && this.lift(wiring.migrate, wiring, bindings);
    } catch (err) {
      this.release();
      throw startError(err, { counters, fuelLimit: startFuel, memoryLimitBytes, memoryBytes: this.memoryBytes, lastErrorLog: this.state.lastErrorLog });
    }
    this.startFuel = counters.used(startFuel);
    this.lifecycle = { health: !!this.healthFn, migrate: !!this.migrateFn };
  }

  /**
   * The instance will never run again (dropped, evicted, swapped out): its pooled memories go
   * back to the pool, and any later call fails INTERNAL instead of reaching another tenant's memory.
   */
  release(whole = false): void {
    if (this.released) return;
    this.released = true;
    for (const [memory, shape] of this.pooled) this.pool.give(memory, shape, whole);
    this.pooled.length = 0;
  }

  /**
   * Each core module's instance exports, by module index; a module instantiated more than once is
   * left out. For the build's snapshot of a QuickJS guest (compile/quickjs-snapshot.ts).
   */
  coreExports(): Map<number, WebAssembly.Exports> {
    const out = new Map<number, WebAssembly.Exports>();
    const twice = new Set<number>();
    this.stepModules.forEach((m, i) => (out.has(m) ? twice.add(m) : out.set(m, this.exportsOf[i]!)));
    for (const m of twice) out.delete(m);
    return out;
  }

  private alive(): void {
    if (this.released) throw new SoloError("INTERNAL", "this instance was released; create a new one");
  }

  get memoryBytes(): number {
    let n = 0;
    for (const m of this.memories) n += m.buffer.byteLength;
    return n;
  }

  /** Runs handle(request) like the single-module runner: the request lowered, result<string, string> lifted, then post-return. */
  call(request: string, fuelLimit: number, maxResponseBytes: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    this.alive();
    const { counters } = this;
    const { fn, binding, postReturn } = this.handleFn;
    // Lowering the request runs guest code (cabi_realloc); it is charged to the call.
    counters.reset(fuelLimit);
    counters.setBudget(memoryCapBytes, this.memoryBytes);
    this.state.lastErrorLog = undefined;
    let tag: number;
    let text: string;
    let len: number;
    try {
      const [ptr, n] = binding.writeString(request);
      const retPtr = fn(ptr, n);
      if (counters.growFailed) throw new GuestFault("memory limit"); // classified MEMORY_LIMIT below
      const view = binding.view(retPtr, 12);
      tag = view.getUint8(0);
      const at = view.getUint32(4, true);
      len = view.getUint32(8, true);
      // len counts UTF-16 code units or UTF-8 bytes; either is at most the UTF-8 size.
      if (len > maxResponseBytes) {
        postReturn?.(retPtr);
        return this.tooLarge(len, maxResponseBytes, counters.used(fuelLimit));
      }
      if (tag > 1) throw new GuestFault(`handle returned a result with tag ${tag}`);
      text = binding.readString(at, len);
      postReturn?.(retPtr);
      if (counters.growFailed) throw new GuestFault("memory limit");
    } catch (err) {
      const f = classify(err, { counters, fuelLimit, memoryLimitBytes: memoryCapBytes, memoryBytes: this.memoryBytes, lastErrorLog: this.state.lastErrorLog, phase: "call" });
      return failed(f, fuelLimit, this.memoryBytes, true);
    }
    const fuel = counters.used(fuelLimit);
    const memoryBytes = this.memoryBytes;
    if (tag !== 0) return { ...this.guestError(text, false), fuel, memoryBytes, trapped: false };
    if (binding.encoding === "utf16" ? len * 3 > maxResponseBytes : false) {
      const size = Buffer.byteLength(text);
      if (size > maxResponseBytes) return this.tooLarge(size, maxResponseBytes, fuel);
    }
    return { ok: true, output: text, fuel, memoryBytes };
  }

  health(fuelLimit: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    const h = this.healthFn;
    if (!h) return absent(this.memoryBytes);
    return this.runUnit(h, () => h.fn(), fuelLimit, memoryCapBytes);
  }

  migrate(fromVersion: number, fuelLimit: number, memoryCapBytes = this.memoryLimitBytes): CallOutcome {
    checkFromVersion(fromVersion);
    const m = this.migrateFn;
    if (!m) return absent(this.memoryBytes);
    // A u32 crosses the core ABI as an i32 with the same bits.
    return this.runUnit(m, () => m.fn(fromVersion | 0), fuelLimit, memoryCapBytes);
  }

  /** One run of an export returning result<_, string> through a return pointer, then post-return. */
  private runUnit(l: Lifted, run: () => number, fuelLimit: number, memoryCapBytes: number): CallOutcome {
    this.alive();
    const { counters } = this;
    counters.reset(fuelLimit);
    counters.setBudget(memoryCapBytes, this.memoryBytes);
    this.state.lastErrorLog = undefined;
    let message: string | undefined;
    try {
      const retPtr = run();
      if (counters.growFailed) throw new GuestFault("memory limit"); // classified MEMORY_LIMIT below
      const view = l.binding.view(retPtr, 12);
      if (view.getUint8(0) !== 0) {
        // The message, then (after the entry's marker) its QuickJS stack: read room for both.
        const len = view.getUint32(8, true);
        const keep = Math.min(len, MAX_FAILURE_MESSAGE + STACK_ROOM);
        message = l.binding.readString(view.getUint32(4, true), keep);
      }
      l.postReturn?.(retPtr);
      if (counters.growFailed) throw new GuestFault("memory limit");
    } catch (err) {
      const f = classify(err, { counters, fuelLimit, memoryLimitBytes: memoryCapBytes, memoryBytes: this.memoryBytes, lastErrorLog: this.state.lastErrorLog, phase: "call" });
      return failed(f, fuelLimit, this.memoryBytes, true);
    }
    const fuel = counters.used(fuelLimit);
    if (message !== undefined) return { ...this.guestError(message, true), fuel, memoryBytes: this.memoryBytes, trapped: false };
    return { ok: true, output: "", fuel, memoryBytes: this.memoryBytes };
  }

  /**
   * What the guest threw (the message, and after JS_STACK_MARKER its QuickJS stack, put there by
   * the entry Solo bundles): GUEST_ERROR whose first line names the guest's line.
   */
  private guestError(payload: string, clipped: boolean): { ok: false; code: "GUEST_ERROR"; message: string; details?: Record<string, unknown> } {
    const { message, stack } = jsFailure(payload, this.source);
    const text = stack?.at ? located(stack.at, message) : message;
    const out = clipped ? clip(text) : text;
    return stack ? { ok: false, code: "GUEST_ERROR", message: out, details: { stack: stack.frames } } : { ok: false, code: "GUEST_ERROR", message: out };
  }

  private tooLarge(size: number, max: number, fuel: number): CallOutcome {
    return { ok: false, code: "RESOURCE_EXHAUSTED", message: `response is over ${max} bytes (at least ${size}); return less or raise limits.maxResponseBytes`, details: { limitBytes: max }, fuel, memoryBytes: this.memoryBytes, trapped: false };
  }

  // ---- wiring ----

  /** The exports of the instance of step `step`. */
  private instance(step: number): WebAssembly.Exports {
    const exports = this.exportsOf[step];
    if (!exports) throw new SoloError("INTERNAL", `the plan uses instance ${step} before it is made`);
    return exports;
  }

  private exported(item: Extract<PlanItem, { t: "export" }>): WebAssembly.ExportValue {
    const v = this.instance(item.step)[item.name];
    if (v === undefined) throw new SoloError("VALIDATION_FAILED", `the component's core instance ${item.step} does not export "${item.name}"`);
    return v;
  }

  /** What one import slot is bound to in this instance. */
  private slot(slot: Slot, wiring: Wiring, bindings: (WorldBinding | undefined)[], resources: ((h: number) => number | void)[]): WebAssembly.ExportValue | ((...a: never[]) => unknown) {
    switch (slot.t) {
      case "export":
        return this.exported(slot);
      case "fixed":
        return slot.value;
      case "host": {
        const b = this.binding(slot.lowering, wiring, bindings);
        // imports() makes every host function anew: once per binding, not once per import.
        let all = this.hostImports.get(b);
        if (!all) this.hostImports.set(b, (all = b.imports()));
        const fn = all[slot.iface]?.[slot.name];
        if (!fn) return trap(`${slot.iface} has no function "${slot.name}" in the solo:agent world`);
        return fn;
      }
      case "resource":
        // The same built-in may be imported by several modules: one function per instance.
        return (resources[slot.index] ??= this.resource(slot.op, slot.table));
    }
  }

  /** One binding per distinct memory / realloc / encoding a lowering names (wiring.lowerings). */
  private binding(index: number, wiring: Wiring, bindings: (WorldBinding | undefined)[]): WorldBinding {
    let b = bindings[index];
    if (!b) {
      const opts = wiring.lowerings[index]!;
      const memory = opts.memory;
      const realloc = opts.realloc;
      let mem: WebAssembly.Memory | undefined;
      let re: Realloc | undefined;
      b = new WorldBinding(
        this.state,
        opts.encoding,
        () => {
          if (mem) return mem;
          const v = memory?.t === "export" ? this.exported(memory) : undefined;
          if (!(v instanceof WebAssembly.Memory)) throw new GuestFault("the component lowered an import that reads memory without giving one");
          return (mem = v);
        },
        () => {
          if (re) return re;
          const v = realloc?.t === "export" ? this.exported(realloc) : undefined;
          return (re = typeof v === "function" ? (v as Realloc) : undefined);
        },
        // The components the plan runs are QuickJS's shape (stubbed WASI): their SDK joins two
        // 53-bit draws, as on jco's glue.
        true,
      );
      bindings[index] = b;
    }
    return b;
  }

  private lift(l: LiftWiring, wiring: Wiring, bindings: (WorldBinding | undefined)[]): Lifted {
    const fn = l.func.t === "export" ? this.exported(l.func) : undefined;
    if (typeof fn !== "function") throw new SoloError("VALIDATION_FAILED", "the component lifts an export that is not a core function of its own");
    const post = l.postReturn?.t === "export" ? this.exported(l.postReturn) : undefined;
    const binding = this.binding(l.lowering, wiring, bindings);
    return { fn: fn as Fn, binding, ...(typeof post === "function" && { postReturn: post as (ret: number) => void }) };
  }

  /** resource.new / rep / drop over one of the component's own handle tables. */
  private resource(op: "new" | "rep" | "drop", table: number): (h: number) => number | void {
    const t = this.tables[table]!;
    const check = (h: number): number => {
      const rep = h > 0 ? t[h] : undefined;
      if (rep === undefined) throw new GuestFault(`unknown resource handle ${h}`);
      return rep;
    };
    if (op === "new") {
      return (rep: number) => {
        if (t.length > 1_000_000) throw new GuestFault("too many resource handles");
        t.push(rep);
        return t.length - 1;
      };
    }
    if (op === "rep") return check;
    return (h: number) => {
      check(h);
      t[h] = undefined;
    };
  }
}

// ---- a plan made ready to wire, once per plan ----

/** What an import slot is bound to; "fixed": the same function in every instance (a trap holds no state). */
type Slot =
  | Extract<PlanItem, { t: "export" }>
  | { t: "host"; lowering: number; iface: string; name: string }
  /** index: this built-in's number among the plan's distinct ones. */
  | { t: "resource"; op: "new" | "rep" | "drop"; table: number; index: number }
  | { t: "fixed"; value: () => never };

interface StepWiring {
  module: number;
  /** Whole instances passed as an import module. */
  whole: { name: string; step: number }[];
  /** Import modules made of single items: their names, each name's slot, and the object they are set on. */
  bags: { name: string; keys: string[]; slots: Slot[]; ns: Record<string, unknown> }[];
  /** The memory this step's module imports from the pool. */
  shape?: MemoryShape;
  /**
   * The import object handed to the engine, with every key in place (the bags' objects, the
   * meter's, the memory's), its values set only while one instance is made. Made once: objects
   * built anew each time cost new hidden classes after every garbage collection (maps nothing
   * else holds die), and the large bags a hash table each.
   */
  imports: Record<string, any>;
  memory?: Record<string, unknown>;
}

type LiftWiring = Pick<PlanLift, "func" | "postReturn"> & { lowering: number };

interface Wiring {
  steps: StepWiring[];
  /** The distinct options lowerings and lifts name: a binding each, per instance. */
  lowerings: LowerOpts[];
  handle: LiftWiring;
  health?: LiftWiring;
  migrate?: LiftWiring;
}

/**
 * A worker keeps one plan object per artifact (worker.ts), so each plan is read once here, not at
 * every instantiation: its entries listed, its lowerings numbered, its traps made.
 */
const wirings = new WeakMap<ComponentPlan, Wiring>();

function wiringOf(plan: ComponentPlan): Wiring {
  let w = wirings.get(plan);
  if (w) return w;
  const keys = new Map<string, number>();
  const lowerings: LowerOpts[] = [];
  const lowering = (opts: LowerOpts): number => {
    const key = JSON.stringify(opts);
    let i = keys.get(key);
    if (i === undefined) keys.set(key, (i = lowerings.push(opts) - 1));
    return i;
  };
  const resources = new Map<string, number>();
  const slot = (item: PlanItem): Slot => {
    switch (item.t) {
      case "export":
        return { t: "export", step: item.step, name: internal(item.name) };
      case "host":
        return { t: "host", lowering: lowering(item.opts), iface: item.iface, name: item.name };
      case "trap":
        return { t: "fixed", value: trap(`the guest called ${item.what}, which traps`) };
      case "resource": {
        const key = `${item.op} ${item.table}`;
        let index = resources.get(key);
        if (index === undefined) resources.set(key, (index = resources.size));
        return { t: "resource", op: item.op, table: item.table, index };
      }
    }
  };
  const ref = (i: PlanItem): PlanItem => (i.t === "export" ? { t: "export", step: i.step, name: internal(i.name) } : i);
  const lift = (l: PlanLift): LiftWiring => ({ func: ref(l.func), ...(l.postReturn && { postReturn: ref(l.postReturn) }), lowering: lowering({ encoding: l.encoding, memory: l.memory, ...(l.realloc && { realloc: l.realloc }) }) });
  const steps = plan.steps.map((step): StepWiring => {
    const whole: StepWiring["whole"] = [];
    const bags: StepWiring["bags"] = [];
    const imports: Record<string, unknown> = {};
    for (const [name, arg] of Object.entries(step.args)) {
      if (arg.t === "step") {
        whole.push({ name, step: arg.step });
        imports[name] = undefined;
      } else {
        const keys = Object.keys(arg.items);
        const ns: Record<string, unknown> = {};
        for (const k of keys) ns[k] = undefined;
        bags.push({ name, keys, slots: Object.values(arg.items).map(slot), ns });
        imports[name] = ns;
      }
    }
    imports[COUNTER_MODULE] = undefined;
    const shape = plan.memories?.[step.module];
    const memory = shape && { [MEMORY_IMPORT.name]: undefined };
    if (memory) imports[MEMORY_IMPORT.module] = memory;
    return { module: step.module, whole, bags, imports, ...(shape && { shape, memory }) };
  });
  w = { steps, lowerings, handle: lift(plan.handle), ...(plan.health && { health: lift(plan.health) }), ...(plan.migrate && { migrate: lift(plan.migrate) }) };
  wirings.set(plan, w);
  return w;
}

/**
 * The same string, internalized: a plan that came in a message holds fresh copies of its names,
 * and V8 looks a key that is not internalized up in its string table at every property access.
 */
function internal(name: string): string {
  return Object.keys({ [name]: 0 })[0]!;
}

/** A step's import objects without this instance's values: nothing of it is kept past its making. */
function empty(step: StepWiring): void {
  const { imports } = step;
  for (const w of step.whole) imports[w.name] = undefined;
  for (const bag of step.bags) for (const k of bag.keys) bag.ns[k] = undefined;
  imports[COUNTER_MODULE] = undefined;
  if (step.memory) step.memory[MEMORY_IMPORT.name] = undefined;
}

/** The names a module exports its memories under, read once per Module. */
const memoryNames = new WeakMap<WebAssembly.Module, string[]>();

function memoryExports(module: WebAssembly.Module): string[] {
  let names = memoryNames.get(module);
  if (!names) memoryNames.set(module, (names = WebAssembly.Module.exports(module).filter((e) => e.kind === "memory").map((e) => e.name)));
  return names;
}

function trap(what: string): () => never {
  return () => {
    throw new GuestFault(what);
  };
}
