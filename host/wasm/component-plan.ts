// A component's instantiation graph, flattened at build time into a plan the worker runs with no
// generated code: which core module to instantiate in which order, what each import is bound to
// (another instance's export, one of the world's host functions lowered with given options, or a
// trap), and how handle/health/migrate are lifted. Reads every section once, O(size); nothing is
// compiled. Covers what wit-component emits for a QuickJS guest (nested components, core
// instances, aliases, canon lift/lower and resource built-ins); anything else throws
// PlanUnsupported with the reason, and the caller decides (jco glue for Solo's own builds, a
// refusal for uploads).
import { Reader, sections } from "./binary.ts";
import { defType, describeFuncType, type TypeDef } from "./component-types.ts";
import { formatType, I32, readModuleInfo, sameType, type FuncType, type ModuleInfo } from "./module-info.ts";
import type { MemoryShape } from "./import-memory.ts";
import { LIFECYCLE_EXPORTS, LIFECYCLE_SIGNATURES, WORLD_EXPORTS, WORLD_IMPORTS, worldInterface, type LifecycleExport } from "./world.ts";

/** A core function, table, memory or global as the plan names it. */
export type PlanItem =
  /** An export of an earlier step's instance. */
  | { t: "export"; step: number; name: string }
  /** A world import ("solo:agent/kv@0.1.0", "get"), lowered with these options. */
  | { t: "host"; iface: string; name: string; opts: LowerOpts }
  /** A function that traps when called (what the component itself would do), with why. */
  | { t: "trap"; what: string }
  /** resource.new / rep / drop for resource table `table` (one per resource type and instance). */
  | { t: "resource"; op: "new" | "rep" | "drop"; table: number };

export interface LowerOpts {
  encoding: "utf8" | "utf16";
  memory?: PlanItem;
  realloc?: PlanItem;
}

export type PlanArg = { t: "step"; step: number } | { t: "bag"; items: Record<string, PlanItem> };

export interface PlanStep {
  /** Index into the component's core modules in walkCoreModules order. */
  module: number;
  args: Record<string, PlanArg>;
}

export interface PlanLift {
  func: PlanItem;
  memory: PlanItem;
  realloc?: PlanItem;
  postReturn?: PlanItem;
  encoding: "utf8" | "utf16";
}

export interface ComponentPlan {
  steps: PlanStep[];
  /** How many resource tables the runner keeps. */
  resourceTables: number;
  handle: PlanLift;
  health?: PlanLift;
  migrate?: PlanLift;
  /**
   * Core modules (by index) that import their memory from MEMORY_IMPORT (import-memory.ts), with
   * its shape: each instantiation gets one of that shape, all zero. Absent: every module defines its own.
   */
  memories?: Record<number, MemoryShape>;
}

/** The graph uses something the plan does not cover; the message says what. */
export class PlanUnsupported extends Error {}

const HANDLE_TYPE = "func(string) -> result<string, string>";
/**
 * Core instances and component instantiations a plan may have (a QuickJS guest: 11 and 7). A
 * component may instantiate its nested ones several times at every level: this keeps the work
 * and the instance count bounded.
 */
const MAX_STEPS = 256;
const MAX_INSTANTIATIONS = 256;

// ---- evaluation values ----

type CoreInstance = { t: "step"; step: number } | { t: "bag"; items: Record<string, PlanItem> };
type Func =
  | { t: "import"; iface: string; name: string }
  | { t: "lift"; func: PlanItem; opts: CanonOpts; sig: string | undefined };
type Instance = { t: "import"; iface: string } | { t: "exports"; items: Record<string, Item> };
type Item =
  | { sort: "func"; v: Func }
  | { sort: "instance"; v: Instance }
  | { sort: "component"; v: ComponentDef }
  | { sort: "type"; v: TypeVal }
  | { sort: "module"; v: number }
  | { sort: "other" };
/** A type: its definition (for signatures) and, for a resource, its table. */
type TypeVal = { def?: TypeDef; table?: number };

interface CanonOpts {
  encoding: "utf8" | "utf16" | "latin1+utf16";
  memory?: PlanItem;
  realloc?: PlanItem;
  postReturn?: PlanItem;
  async: boolean;
}

/** A component definition: its sections, and the numbers of its core modules. */
interface ComponentDef {
  bytes: Uint8Array;
  /** Module number of each core module section, in order. */
  modules: number[];
  /** Nested component definitions, in order. */
  components: ComponentDef[];
  /** The enclosing component's evaluation, for outer aliases. */
  parent?: Scope;
}

interface Scope {
  coreFuncs: PlanItem[];
  coreTables: PlanItem[];
  coreMemories: PlanItem[];
  coreGlobals: PlanItem[];
  coreModules: number[];
  coreInstances: CoreInstance[];
  funcs: Func[];
  instances: Instance[];
  components: ComponentDef[];
  types: TypeVal[];
  parent?: Scope;
}

const CORE_SORT = { func: 0x00, table: 0x01, memory: 0x02, global: 0x03, type: 0x10, module: 0x11, instance: 0x12 } as const;
const SORT = { core: 0x00, func: 0x01, value: 0x02, type: 0x03, component: 0x04, instance: 0x05 } as const;
const SECTION = { custom: 0, coreModule: 1, coreInstance: 2, coreType: 3, component: 4, instance: 5, alias: 6, type: 7, canon: 8, start: 9, import: 10, export: 11, value: 12 } as const;

/**
 * The plan of a component whose top level imports only world interfaces and exports handle (and
 * optionally health / migrate) with the world's types. `coreModules` is walkCoreModules(bytes).
 */
export function planComponent(bytes: Uint8Array, coreModules: readonly Uint8Array[]): ComponentPlan {
  const planner = new Planner(coreModules);
  let moduleCount = 0;
  const define = (b: Uint8Array, parent?: Scope): ComponentDef => {
    const def: ComponentDef = { bytes: b, modules: [], components: [], parent };
    for (const s of sections(b)) {
      if (s.id === SECTION.coreModule) def.modules.push(moduleCount++);
      else if (s.id === SECTION.component) def.components.push(define(b.subarray(s.start, s.end)));
    }
    return def;
  };
  let top: Scope;
  try {
    top = planner.instantiate(define(bytes), (name) => {
      if (name === "solo:agent/types@0.1.0" || worldInterface(name)) return { sort: "instance", v: { t: "import", iface: name } };
      throw new PlanUnsupported(`the component imports "${name}", which is not part of the solo:agent world`);
    }, true);
  } catch (err) {
    if (err instanceof PlanUnsupported) throw err;
    throw new PlanUnsupported(`the component's structure cannot be read: ${(err as Error).message}`);
  }
  if (moduleCount !== coreModules.length) throw new PlanUnsupported("the component's core modules do not match its sections");
  const exported = planner.topExports;
  const lift = (name: string, sig: string): PlanLift | undefined => {
    const item = exported.get(name);
    if (!item) return undefined;
    if (item.sort !== "func" || item.v.t !== "lift") throw new PlanUnsupported(`"${name}" is not a function the component lifts itself`);
    const f = item.v;
    if (f.sig !== sig) throw new PlanUnsupported(`"${name}" has type ${f.sig ?? "(unreadable)"}; the world's is ${sig}`);
    if (f.opts.async) throw new PlanUnsupported(`"${name}" is lifted async`);
    if (f.opts.encoding === "latin1+utf16") throw new PlanUnsupported(`"${name}" uses the latin1+utf16 string encoding`);
    if (!f.opts.memory) throw new PlanUnsupported(`"${name}" is lifted without a memory`);
    return { func: f.func, memory: f.opts.memory, encoding: f.opts.encoding, ...(f.opts.realloc && { realloc: f.opts.realloc }), ...(f.opts.postReturn && { postReturn: f.opts.postReturn }) };
  };
  const handle = lift("handle", HANDLE_TYPE);
  if (!handle?.realloc) throw new PlanUnsupported(handle ? `"handle" is lifted without a realloc` : `the component does not export "handle"`);
  const plan: ComponentPlan = { steps: planner.steps, resourceTables: planner.tables, handle };
  for (const name of LIFECYCLE_EXPORTS) {
    const l = lift(name, LIFECYCLE_SIGNATURES[name].type);
    if (l) plan[name as LifecycleExport] = l;
  }
  void top;
  try {
    planner.checkCoreTypes(plan);
  } catch (err) {
    if (err instanceof PlanUnsupported) throw err;
    throw new PlanUnsupported(`a core module of the component cannot be read: ${(err as Error).message}`);
  }
  return plan;
}

const POST_RETURN: FuncType = { params: [I32], results: [] };

class Planner {
  readonly steps: PlanStep[] = [];
  tables = 0;
  topExports = new Map<string, Item>();
  private readonly infos = new Map<number, ModuleInfo>();

  constructor(private readonly coreModules: readonly Uint8Array[]) {}

  private instantiations = 0;

  /** Evaluates one instantiation of `def`, its imports answered by `arg`. */
  instantiate(def: ComponentDef, arg: (name: string) => Item, top = false): Scope {
    if (++this.instantiations > MAX_INSTANTIATIONS) throw new PlanUnsupported(`more than ${MAX_INSTANTIATIONS} component instantiations`);
    const s: Scope = { coreFuncs: [], coreTables: [], coreMemories: [], coreGlobals: [], coreModules: [], coreInstances: [], funcs: [], instances: [], components: [], types: [], parent: def.parent };
    let moduleAt = 0;
    let componentAt = 0;
    const exports = new Map<string, Item>();
    for (const sec of sections(def.bytes)) {
      const r = new Reader(def.bytes, sec.start, sec.end);
      switch (sec.id) {
        case SECTION.custom:
        case SECTION.coreType:
          break;
        case SECTION.coreModule:
          s.coreModules.push(def.modules[moduleAt++]!);
          break;
        case SECTION.component: {
          const nested = def.components[componentAt++]!;
          s.components.push({ ...nested, parent: s });
          break;
        }
        case SECTION.coreInstance:
          for (let n = r.u32(), i = 0; i < n; i++) s.coreInstances.push(this.coreInstance(r, s));
          break;
        case SECTION.instance:
          for (let n = r.u32(), i = 0; i < n; i++) s.instances.push(this.instance(r, s));
          break;
        case SECTION.alias:
          for (let n = r.u32(), i = 0; i < n; i++) this.alias(r, s);
          break;
        case SECTION.type:
          for (let n = r.u32(), i = 0; i < n; i++) {
            const def = defType(r);
            // A resource defined here: its handles live in a table of this instance.
            s.types.push(def.kind === "other" && def.defined ? { def, table: this.tables++ } : { def });
          }
          break;
        case SECTION.canon:
          for (let n = r.u32(), i = 0; i < n; i++) this.canon(r, s);
          break;
        case SECTION.import:
          for (let n = r.u32(), i = 0; i < n; i++) {
            const name = externName(r);
            const sort = externDescSort(r);
            push(s, sort, arg(name));
          }
          break;
        case SECTION.export:
          for (let n = r.u32(), i = 0; i < n; i++) {
            const name = externName(r);
            const { sort, index } = sortIdx(r);
            if (r.byte() === 0x01) externDescSort(r); // an ascribed type
            const item = get(s, sort, index);
            exports.set(name, item);
            push(s, sort, item);
          }
          break;
        default:
          throw new PlanUnsupported(`section ${sec.id} (${sec.id === SECTION.start ? "a component start function" : sec.id === SECTION.value ? "values" : "unknown"})`);
      }
    }
    if (top) this.topExports = exports;
    (s as Scope & { exports?: Map<string, Item> }).exports = exports;
    return s;
  }

  private coreInstance(r: Reader, s: Scope): CoreInstance {
    const kind = r.byte();
    if (kind === 0x00) {
      const module = s.coreModules[r.u32()];
      if (module === undefined) throw new PlanUnsupported("a core instance of an unknown module");
      const args: Record<string, PlanArg> = {};
      for (let n = r.u32(), i = 0; i < n; i++) {
        const name = r.name();
        if (r.byte() !== CORE_SORT.instance) throw new PlanUnsupported("a core instantiation argument that is not an instance");
        const inst = s.coreInstances[r.u32()];
        if (!inst) throw new PlanUnsupported("an unknown core instance");
        args[name] = inst.t === "step" ? { t: "step", step: inst.step } : { t: "bag", items: inst.items };
      }
      if (this.steps.length >= MAX_STEPS) throw new PlanUnsupported(`more than ${MAX_STEPS} core instances`);
      this.steps.push({ module, args });
      return { t: "step", step: this.steps.length - 1 };
    }
    if (kind === 0x01) {
      const items: Record<string, PlanItem> = {};
      for (let n = r.u32(), i = 0; i < n; i++) {
        const name = r.name();
        const sort = r.byte();
        items[name] = coreItem(s, sort, r.u32());
      }
      return { t: "bag", items };
    }
    throw new PlanUnsupported(`core instance form ${kind}`);
  }

  private instance(r: Reader, s: Scope): Instance {
    const kind = r.byte();
    if (kind === 0x00) {
      const def = s.components[r.u32()];
      if (!def) throw new PlanUnsupported("an instance of an unknown component");
      const args = new Map<string, Item>();
      for (let n = r.u32(), i = 0; i < n; i++) {
        const name = r.name();
        const { sort, index } = sortIdx(r);
        args.set(name, get(s, sort, index));
      }
      const inner = this.instantiate(def, (name) => {
        const a = args.get(name);
        if (!a) throw new PlanUnsupported(`a nested component's import "${name}" is not given`);
        return a;
      });
      const items: Record<string, Item> = {};
      for (const [k, v] of (inner as Scope & { exports: Map<string, Item> }).exports) items[k] = v;
      return { t: "exports", items };
    }
    if (kind === 0x01) {
      const items: Record<string, Item> = {};
      for (let n = r.u32(), i = 0; i < n; i++) {
        const name = externName(r);
        const { sort, index } = sortIdx(r);
        items[name] = get(s, sort, index);
      }
      return { t: "exports", items };
    }
    throw new PlanUnsupported(`instance form ${kind}`);
  }

  private alias(r: Reader, s: Scope): void {
    const sort = readSort(r);
    const target = r.byte();
    if (target === 0x00) {
      const inst = s.instances[r.u32()];
      const name = r.name();
      if (!inst) throw new PlanUnsupported("an alias of an unknown instance");
      if (inst.t === "import") {
        // An export of a world interface: functions are host functions; anything else (types) is opaque.
        if (sort === SORT.func) s.funcs.push({ t: "import", iface: inst.iface, name });
        else if (sort === SORT.type) s.types.push({});
        else push(s, sort, { sort: "other" });
        return;
      }
      const item = inst.items[name];
      if (!item) throw new PlanUnsupported(`an alias of "${name}", which the instance does not export`);
      push(s, sort, item);
      return;
    }
    if (target === 0x01) {
      const inst = s.coreInstances[r.u32()];
      const name = r.name();
      if (!inst) throw new PlanUnsupported("an alias of an unknown core instance");
      const item: PlanItem | undefined = inst.t === "step" ? { t: "export", step: inst.step, name } : inst.items[name];
      if (!item) throw new PlanUnsupported(`an alias of core export "${name}", which the instance does not have`);
      pushCore(s, sort, item);
      return;
    }
    if (target === 0x02) {
      let outer: Scope | undefined = s;
      for (let k = r.u32(); k > 0 && outer; k--) outer = outer.parent;
      const index = r.u32();
      if (!outer) throw new PlanUnsupported("an outer alias past the outermost component");
      if (sort === SORT.type) s.types.push(outer.types[index] ?? {});
      else if (sort === SORT.component) {
        const c = outer.components[index];
        if (!c) throw new PlanUnsupported("an outer alias of an unknown component");
        s.components.push(c);
      } else if (sort === 0x100 + CORE_SORT.module) s.coreModules.push(outer.coreModules[index]!);
      else if (sort === 0x100 + CORE_SORT.type) return;
      else throw new PlanUnsupported(`an outer alias of sort ${sort}`);
      return;
    }
    throw new PlanUnsupported(`alias target ${target}`);
  }

  private canon(r: Reader, s: Scope): void {
    const op = r.byte();
    if (op === 0x00) {
      if (r.byte() !== 0x00) throw new PlanUnsupported("canon lift of a non-function");
      const func = s.coreFuncs[r.u32()];
      const opts = canonOpts(r, s);
      const type = r.u32();
      if (!func) throw new PlanUnsupported("canon lift of an unknown core function");
      s.funcs.push({ t: "lift", func, opts, sig: describeFuncType(type, s.types.map((t) => t.def)) });
      return;
    }
    if (op === 0x01) {
      if (r.byte() !== 0x00) throw new PlanUnsupported("canon lower to a non-function");
      const f = s.funcs[r.u32()];
      const opts = canonOpts(r, s);
      if (!f) throw new PlanUnsupported("canon lower of an unknown function");
      if (opts.async) throw new PlanUnsupported("an async canon lower");
      s.coreFuncs.push(this.lower(f, opts));
      return;
    }
    if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x07) {
      const t = s.types[r.u32()];
      const ops = { 2: "new", 3: "drop", 4: "rep", 7: "drop" } as const;
      const kind = ops[op];
      // A resource defined elsewhere (imported): no handle of it can reach this component here,
      // since every function that could hand one over traps (see lower), so drop traps too.
      if (t?.table === undefined) s.coreFuncs.push(kind === "drop" ? { t: "trap", what: "resource.drop of a handle the component was never given" } : (() => { throw new PlanUnsupported(`resource.${kind} of a resource not defined here`); })());
      else s.coreFuncs.push({ t: "resource", op: kind, table: t.table });
      return;
    }
    throw new PlanUnsupported(`canon built-in 0x${op.toString(16)} (async or threads)`);
  }

  /**
   * A lowered function. A world import becomes the host function; a function lifted by another
   * of the component's inner components is bound only when its core code is a bare
   * `unreachable` (what componentize's WASI and module-loader stubs are), as a trap: calling
   * it fails exactly as the component would. Anything else needs an adapter the plan has not.
   */
  private lower(f: Func, opts: CanonOpts): PlanItem {
    if (f.t === "import") {
      if (opts.encoding === "latin1+utf16") throw new PlanUnsupported(`${f.iface} ${f.name} is lowered with the latin1+utf16 encoding`);
      if (!worldInterface(f.iface)) throw new PlanUnsupported(`a function of ${f.iface} is lowered`);
      return { t: "host", iface: f.iface, name: f.name, opts: { encoding: opts.encoding, ...(opts.memory && { memory: opts.memory }), ...(opts.realloc && { realloc: opts.realloc }) } };
    }
    const callee = f.func;
    if (callee.t === "trap") return callee;
    if (callee.t === "export" && this.trapsAtOnce(callee)) return { t: "trap", what: `${callee.name} (a stub of the component's)` };
    throw new PlanUnsupported(`a call between the component's inner components (${callee.t === "export" ? callee.name : callee.t}) that is not a stub`);
  }

  /**
   * The host functions Solo binds and the core functions it calls must have the core types the
   * canonical ABI gives the world (the engine would pass them anything: a guest's mistake would
   * surface as the host's own failure).
   */
  checkCoreTypes(plan: ComponentPlan): void {
    for (const step of this.steps) {
      const info = this.info(step.module);
      for (const imp of info.imports) {
        const arg = step.args[imp.module];
        const item = arg?.t === "bag" ? arg.items[imp.name] : undefined;
        if (item?.t !== "host") continue;
        const want = WORLD_IMPORTS[worldInterface(item.iface)!]?.[item.name];
        if (!want) throw new PlanUnsupported(`${item.iface} has no function "${item.name}"`);
        if (imp.kind !== "function" || !sameType(imp.type, want)) throw new PlanUnsupported(`${item.iface} ${item.name} is imported as ${formatType(imp.type)}; the world lowers it to ${formatType(want)}`);
      }
    }
    const lifts: [string, PlanLift, FuncType][] = [["handle", plan.handle, WORLD_EXPORTS.handle!]];
    for (const name of LIFECYCLE_EXPORTS) if (plan[name]) lifts.push([name, plan[name]!, LIFECYCLE_SIGNATURES[name].core]);
    for (const [name, l, core] of lifts) {
      this.expectFunc(l.func, core, `"${name}"`);
      if (l.realloc) this.expectFunc(l.realloc, WORLD_EXPORTS.cabi_realloc!, `the realloc of "${name}"`);
      if (l.postReturn) this.expectFunc(l.postReturn, POST_RETURN, `the post-return of "${name}"`);
      if (l.memory.t !== "export" || this.exportOf(l.memory)?.kind !== "memory") throw new PlanUnsupported(`the memory of "${name}" is not a memory of the component's own`);
    }
  }

  private exportOf(item: { step: number; name: string }) {
    return this.info(this.steps[item.step]!.module).exports.find((e) => e.name === item.name);
  }

  private expectFunc(item: PlanItem, want: FuncType, what: string): void {
    const e = item.t === "export" ? this.exportOf(item) : undefined;
    if (!e || e.kind !== "function") throw new PlanUnsupported(`${what} is not a core function of the component's own`);
    if (!sameType(e.type, want)) throw new PlanUnsupported(`${what} has core type ${formatType(e.type)}; the world's lifting needs ${formatType(want)}`);
  }

  private info(module: number): ModuleInfo {
    let info = this.infos.get(module);
    if (!info) this.infos.set(module, (info = readModuleInfo(this.coreModules[module]!)));
    return info;
  }

  /** Whether an exported core function's whole body is `unreachable`. */
  private trapsAtOnce(item: { step: number; name: string }): boolean {
    const module = this.steps[item.step]!.module;
    const bytes = this.coreModules[module]!;
    const info = this.info(module);
    const e = info.exports.find((x) => x.name === item.name && x.kind === "function");
    if (!e || e.index < info.importedFunctions) return false;
    const code = sections(bytes).find((x) => x.id === 10);
    if (!code) return false;
    const r = new Reader(bytes, code.start, code.end);
    const n = r.u32();
    const want = e.index - info.importedFunctions;
    if (want >= n) return false;
    for (let i = 0; i < want; i++) r.skip(r.u32());
    const size = r.u32();
    const body = bytes.subarray(r.pos, r.pos + size);
    // no locals, unreachable, end
    return size === 3 && body[0] === 0x00 && body[1] === 0x00 && body[2] === 0x0b;
  }
}

// ---- index spaces ----

function push(s: Scope, sort: number, item: Item): void {
  if (sort >= 0x100) {
    if (item.sort === "module") s.coreModules.push(item.v);
    else throw new PlanUnsupported("a core item passed between components");
    return;
  }
  if (sort === SORT.func) {
    if (item.sort !== "func") throw new PlanUnsupported("a function import given something else");
    s.funcs.push(item.v);
  } else if (sort === SORT.instance) {
    if (item.sort !== "instance") throw new PlanUnsupported("an instance import given something else");
    s.instances.push(item.v);
  } else if (sort === SORT.component) {
    if (item.sort !== "component") throw new PlanUnsupported("a component import given something else");
    s.components.push(item.v);
  } else if (sort === SORT.type) s.types.push(item.sort === "type" ? item.v : {});
  else throw new PlanUnsupported(`items of sort ${sort}`);
}

function get(s: Scope, sort: number, index: number): Item {
  const miss = (): never => {
    throw new PlanUnsupported(`an unknown item (sort ${sort}, index ${index})`);
  };
  if (sort === SORT.func) return { sort: "func", v: s.funcs[index] ?? miss() };
  if (sort === SORT.instance) return { sort: "instance", v: s.instances[index] ?? miss() };
  if (sort === SORT.component) return { sort: "component", v: s.components[index] ?? miss() };
  if (sort === SORT.type) return { sort: "type", v: s.types[index] ?? miss() };
  if (sort === 0x100 + CORE_SORT.module) return { sort: "module", v: s.coreModules[index] ?? miss() };
  throw new PlanUnsupported(`items of sort ${sort} passed between components`);
}

function coreItem(s: Scope, sort: number, index: number): PlanItem {
  const space = sort === CORE_SORT.func ? s.coreFuncs : sort === CORE_SORT.table ? s.coreTables : sort === CORE_SORT.memory ? s.coreMemories : sort === CORE_SORT.global ? s.coreGlobals : undefined;
  if (!space) throw new PlanUnsupported(`core items of sort ${sort}`);
  const item = space[index];
  if (!item) throw new PlanUnsupported(`an unknown core item (sort ${sort}, index ${index})`);
  return item;
}

function pushCore(s: Scope, sort: number, item: PlanItem): void {
  const core = sort - 0x100;
  if (core === CORE_SORT.func) s.coreFuncs.push(item);
  else if (core === CORE_SORT.table) s.coreTables.push(item);
  else if (core === CORE_SORT.memory) s.coreMemories.push(item);
  else if (core === CORE_SORT.global) s.coreGlobals.push(item);
  else throw new PlanUnsupported(`core aliases of sort ${core}`);
}

// ---- binary grammar ----

/** sort, with core sorts as 0x100 + core sort. */
function readSort(r: Reader): number {
  const sort = r.byte();
  return sort === SORT.core ? 0x100 + r.byte() : sort;
}

function sortIdx(r: Reader): { sort: number; index: number } {
  const sort = readSort(r);
  return { sort, index: r.u32() };
}

function externName(r: Reader): string {
  const tag = r.byte();
  const name = r.name();
  if (tag === 0x01) r.name();
  return name;
}

/** Reads an externdesc; answers the sort of index space it adds to. */
function externDescSort(r: Reader): number {
  const kind = r.byte();
  if (kind === 0x00) {
    if (r.byte() !== CORE_SORT.module) throw new PlanUnsupported("a core import that is not a module");
    r.u32();
    return 0x100 + CORE_SORT.module;
  }
  if (kind === 0x02) throw new PlanUnsupported("value imports");
  if (kind === 0x03) {
    if (r.byte() === 0x00) r.u32();
    return SORT.type;
  }
  if (kind === 0x01 || kind === 0x04 || kind === 0x05) {
    r.u32();
    return kind;
  }
  throw new PlanUnsupported(`externdesc ${kind}`);
}

function canonOpts(r: Reader, s: Scope): CanonOpts {
  const o: CanonOpts = { encoding: "utf8", async: false };
  for (let k = r.u32(), j = 0; j < k; j++) {
    const opt = r.byte();
    if (opt === 0x00) o.encoding = "utf8";
    else if (opt === 0x01) o.encoding = "utf16";
    else if (opt === 0x02) o.encoding = "latin1+utf16";
    else if (opt === 0x03) o.memory = coreItem(s, CORE_SORT.memory, r.u32());
    else if (opt === 0x04) o.realloc = coreItem(s, CORE_SORT.func, r.u32());
    else if (opt === 0x05) o.postReturn = coreItem(s, CORE_SORT.func, r.u32());
    else if (opt === 0x06) o.async = true;
    else throw new PlanUnsupported(`canon option 0x${opt.toString(16)}`);
  }
  return o;
}
