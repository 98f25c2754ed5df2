// Random WebAssembly programs that are valid by construction and always terminate, as text:
// integer arithmetic, locals and globals, if/else, blocks with and without values, br / br_if /
// br_table, bounded loops (each with its own counter that no other code writes), direct calls
// (only to later functions, so no cycles), one bounded recursive function, call_indirect into a
// table of call-free functions (with null slots and a wrong-type slot, so it may trap), loads and
// stores, memory.grow / size / fill / copy / init, data.drop, an optional start function.
// Traps (division by zero, out-of-bounds, unreachable) are allowed: they are deterministic.
// One program is a pure function of (seed, options): a failing seed reproduces.

export type ValType = "i32" | "i64";

export interface GenOptions {
  /**
   * "plain": exports memory, every function ("f0", ...) and every global ("g0", ...).
   * "solo": the solo:agent/service core ABI (memory, cabi_realloc, handle(ptr, len) -> retptr,
   * UTF-8) with handle calling f0 on numbers taken from the request; nothing else exported.
   */
  world: "plain" | "solo";
  /** Rough number of nodes per function (default 40). */
  size?: number;
  /**
   * Also use what came after the MVP and changes control flow or state in ways a rewriter must
   * follow: exceptions (try / catch / catch_all / delegate / throw / rethrow), tail calls, SIMD,
   * table.get / set / size / grow / fill, typed select. Default true.
   */
  features?: boolean;
  /** Exceptions among the features (default: as `features`). Solo refuses them at deploy. */
  exceptions?: boolean;
}

/** mulberry32: small, fast, good enough to pick program shapes. */
export class Random {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const I32_EDGES = [0, 1, -1, 2, 7, 8, 16, 31, 32, 255, 256, 4096, 65535, 65536, 0x7fffffff, -0x80000000];
const I64_EDGES = ["0", "1", "-1", "63", "64", "0xffffffff", "0x100000000", "0x7fffffffffffffff", "-0x8000000000000000"];

/** Interesting argument values for a parameter of type t (numbers for i32, bigints for i64). */
export function argument(r: Random, t: ValType): number | bigint {
  if (t === "i32") return r.chance(0.5) ? r.pick(I32_EDGES) : (r.int(2 ** 32) | 0);
  const edge = r.pick(I64_EDGES);
  return r.chance(0.5) ? BigInt.asIntN(64, edge.startsWith("-") ? -BigInt(edge.slice(1)) : BigInt(edge)) : BigInt.asIntN(64, (BigInt(r.int(2 ** 32)) << 32n) | BigInt(r.int(2 ** 32)));
}

export interface FnSig {
  params: ValType[];
  result: ValType | null;
}

export interface Generated {
  wat: string;
  /** Signatures of the exported functions "f0".. (plain world). */
  functions: FnSig[];
  globals: ValType[];
}

interface Fn {
  name: string;
  sig: FnSig;
  /** Call-free: no call, no call_indirect (these are the table's targets). */
  pure: boolean;
  locals: ValType[];
  /** Locals that count loop iterations: no generated statement writes them. */
  counters: Set<number>;
}

interface Ctx {
  fn: Fn;
  /** Enclosing labels that take no values, innermost last. */
  labels: string[];
  /** Labels of the try blocks whose catch we are in (rethrow targets). */
  catches: string[];
  budget: number;
  loopDepth: number;
}

const BIN = ["add", "sub", "mul", "div_s", "div_u", "rem_s", "rem_u", "and", "or", "xor", "shl", "shr_s", "shr_u", "rotl", "rotr"];
const CMP = ["eq", "ne", "lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"];
const LOADS: Record<ValType, [string, number][]> = {
  i32: [["i32.load", 4], ["i32.load8_s", 1], ["i32.load8_u", 1], ["i32.load16_s", 2], ["i32.load16_u", 2]],
  i64: [["i64.load", 8], ["i64.load8_u", 1], ["i64.load16_s", 2], ["i64.load32_u", 4], ["i64.load32_s", 4]],
};
const STORES: Record<ValType, [string, number][]> = {
  i32: [["i32.store", 4], ["i32.store8", 1], ["i32.store16", 2]],
  i64: [["i64.store", 8], ["i64.store8", 1], ["i64.store16", 2], ["i64.store32", 4]],
};

export function generateModule(seed: number, options: GenOptions): Generated {
  const r = new Random(seed);
  const size = options.size ?? 40;
  const features = options.features !== false;
  const exceptions = options.exceptions ?? features;
  const sigs: FnSig[] = [];
  const randomSig = (): FnSig => ({
    params: Array.from({ length: r.int(4) }, () => r.pick<ValType>(["i32", "i64"])),
    result: r.chance(0.15) ? null : r.pick<ValType>(["i32", "i64"]),
  });
  const nFns = 1 + r.int(6);
  const nPure = 1 + r.int(Math.min(3, nFns));
  const fns: Fn[] = [];
  for (let i = 0; i < nFns; i++) {
    const sig = randomSig();
    // f0 is what handle calls: give it a result so the reply depends on the program.
    if (i === 0 && sig.result === null) sig.result = "i32";
    sigs.push(sig);
    fns.push({ name: `$f${i}`, sig, pure: i >= nFns - nPure, locals: [...sig.params], counters: new Set() });
  }
  const startFn: Fn = { name: "$start", sig: { params: [], result: null }, pure: false, locals: [], counters: new Set() };
  // Calls itself (bounded by its argument, masked by every caller) and nothing else.
  const rec: Fn = { name: "$rec", sig: { params: ["i32"], result: "i32" }, pure: true, locals: ["i32"], counters: new Set() };
  const globals: ValType[] = Array.from({ length: 1 + r.int(4) }, () => r.pick<ValType>(["i32", "i64"]));
  const pureFns = fns.filter((f) => f.pure);
  // Table: every pure function, a null slot, and pure functions again (so a wrong-type call can happen).
  const table = [...pureFns.map((f) => f.name), null, ...pureFns.map((f) => f.name).reverse()];
  const sigKey = (s: FnSig) => `${s.params.join(",")}->${s.result ?? ""}`;
  const typeNames = new Map<string, string>();
  for (const f of pureFns) if (!typeNames.has(sigKey(f.sig))) typeNames.set(sigKey(f.sig), `$t${typeNames.size}`);

  const konst = (t: ValType): string => {
    if (t === "i32") return `(i32.const ${r.chance(0.6) ? r.pick(I32_EDGES) : r.int(200) - 100})`;
    return `(i64.const ${r.chance(0.6) ? r.pick(I64_EDGES) : String(r.int(200) - 100)})`;
  };
  const localOf = (ctx: Ctx, t: ValType, writable: boolean): number | undefined => {
    const ok = ctx.fn.locals.map((lt, i) => (lt === t && !(writable && ctx.fn.counters.has(i)) ? i : -1)).filter((i) => i >= 0);
    return ok.length ? r.pick(ok) : undefined;
  };
  const newLocal = (ctx: Ctx, t: ValType): number => {
    ctx.fn.locals.push(t);
    return ctx.fn.locals.length - 1;
  };
  const addr = (ctx: Ctx, width: number): string => {
    const e = expr(ctx, "i32");
    // Mostly inside the first page; sometimes wherever the program says (a likely trap).
    return r.chance(0.85) ? `(i32.and ${e} (i32.const ${0xffff - width - 15}))` : e;
  };
  const memarg = () => (r.chance(0.3) ? ` offset=${r.int(16)}` : "");
  const callArgs = (ctx: Ctx, f: FnSig) => f.params.map((p) => expr(ctx, p)).join(" ");
  const callable = (ctx: Ctx, t: ValType | null) => (ctx.fn.pure ? [] : fns.slice(fns.indexOf(ctx.fn) + 1).filter((f) => f.sig.result === t));

  function expr(ctx: Ctx, t: ValType): string {
    ctx.budget--;
    if (ctx.budget <= 0) return r.chance(0.5) || localOf(ctx, t, false) === undefined ? konst(t) : `(local.get ${localOf(ctx, t, false)})`;
    const k = r.int(23);
    switch (k) {
      case 0: case 1: return konst(t);
      case 2: case 3: {
        const l = localOf(ctx, t, false);
        return l === undefined ? konst(t) : `(local.get ${l})`;
      }
      case 4: {
        const g = globals.map((gt, i) => (gt === t ? i : -1)).filter((i) => i >= 0);
        return g.length ? `(global.get $g${r.pick(g)})` : konst(t);
      }
      case 5: case 6: case 7: return `(${t}.${r.pick(BIN)} ${expr(ctx, t)} ${expr(ctx, t)})`;
      case 8: {
        if (t === "i32") {
          const u = r.int(4);
          if (u === 0) return `(i32.eqz ${expr(ctx, "i32")})`;
          if (u === 1) return `(i32.wrap_i64 ${expr(ctx, "i64")})`;
          if (u === 2) return `(i64.eqz ${expr(ctx, "i64")})`;
          return `(i32.${r.pick(["clz", "ctz", "popcnt", "extend8_s", "extend16_s"])} ${expr(ctx, "i32")})`;
        }
        const u = r.int(3);
        if (u === 0) return `(i64.extend_i32_${r.pick(["s", "u"])} ${expr(ctx, "i32")})`;
        return `(i64.${r.pick(["clz", "ctz", "popcnt", "extend8_s", "extend16_s", "extend32_s"])} ${expr(ctx, "i64")})`;
      }
      case 9: {
        const ct = r.pick<ValType>(["i32", "i64"]);
        const cmp = `(${ct}.${r.pick(CMP)} ${expr(ctx, ct)} ${expr(ctx, ct)})`;
        return t === "i32" ? cmp : `(i64.extend_i32_u ${cmp})`;
      }
      case 10: {
        const [op, width] = r.pick(LOADS[t]);
        return `(${op}${memarg()} ${addr(ctx, width)})`;
      }
      case 11: return `(select ${features && r.chance(0.3) ? `(result ${t}) ` : ""}${expr(ctx, t)} ${expr(ctx, t)} ${expr(ctx, "i32")})`;
      case 12: {
        if (t === "i32") return r.chance(0.5) ? "(memory.size)" : `(memory.grow ${r.chance(0.8) ? `(i32.const ${r.int(3)})` : expr(ctx, "i32")})`;
        return `(i64.extend_i32_s (memory.size))`;
      }
      case 13: {
        const fs = callable(ctx, t);
        if (fs.length === 0) return konst(t);
        const f = r.pick(fs);
        return `(call ${f.name} ${callArgs(ctx, f.sig)})`;
      }
      case 14: {
        if (ctx.fn.pure) return konst(t);
        const targets = pureFns.filter((f) => f.sig.result === t);
        if (targets.length === 0) return konst(t);
        const f = r.pick(targets);
        const slot = r.chance(0.7) ? `(i32.const ${table.indexOf(f.name)})` : `(i32.and ${expr(ctx, "i32")} (i32.const 7))`;
        return `(call_indirect (type ${typeNames.get(sigKey(f.sig))}) ${callArgs(ctx, f.sig)} ${slot})`;
      }
      case 15: {
        if (ctx.fn.pure || t !== "i32") return konst(t);
        return `(call $rec (i32.and ${expr(ctx, "i32")} (i32.const 15)))`;
      }
      case 16: {
        const l = localOf(ctx, t, true);
        return l === undefined ? konst(t) : `(local.tee ${l} ${expr(ctx, t)})`;
      }
      case 17: {
        // A value-carrying block: br_if may leave it early with a value.
        const label = `$v${ctx.budget}_${r.int(1e6)}`;
        const inner: Ctx = { ...ctx, labels: [...ctx.labels] };
        const body = stmts(inner, 1 + r.int(2));
        ctx.budget = inner.budget;
        return `(block ${label} (result ${t}) ${body} (drop (br_if ${label} ${expr(ctx, t)} ${expr(ctx, "i32")})) ${expr(ctx, t)})`;
      }
      case 18: return `(if (result ${t}) ${expr(ctx, "i32")} (then ${expr(ctx, t)}) (else ${expr(ctx, t)}))`;
      case 19: {
        if (!features) return konst(t);
        return t === "i32" ? simd(ctx) : `(i64x2.extract_lane ${r.int(2)} (i64x2.mul (i64x2.splat ${expr(ctx, "i64")}) (v128.const i64x2 ${r.pick(I64_EDGES)} ${r.int(99)})))`;
      }
      case 20: {
        if (!features || t !== "i32") return konst(t);
        const u = r.int(3);
        if (u === 0) return "(table.size $tab)";
        if (u === 1) return `(table.grow $tab (ref.null func) (i32.const ${r.int(3)}))`;
        return `(ref.is_null (table.get $tab (i32.and ${expr(ctx, "i32")} (i32.const 7))))`;
      }
      default: {
        if (t === "i64") return `(i64.trunc_sat_f64_s (f64.${r.pick(["add", "mul", "div", "sub", "min", "max"])} (f64.convert_i64_s ${expr(ctx, "i64")}) (f64.const ${r.pick(["0", "-0", "1.5", "1e300", "inf", "-inf", "nan"])})))`;
        return `(i32.trunc_sat_f64_u (f64.sqrt (f64.convert_i32_s ${expr(ctx, "i32")})))`;
      }
    }
  }

  function stmts(ctx: Ctx, n: number): string {
    const out: string[] = [];
    for (let i = 0; i < n && ctx.budget > 0; i++) out.push(stmt(ctx));
    return out.join(" ");
  }

  function stmt(ctx: Ctx): string {
    ctx.budget--;
    const k = r.int(features ? 24 : 18);
    switch (k) {
      case 0: case 1: case 2: {
        const t = r.pick<ValType>(["i32", "i64"]);
        const l = localOf(ctx, t, true) ?? newLocal(ctx, t);
        return `(local.set ${l} ${expr(ctx, t)})`;
      }
      case 3: {
        const g = r.int(globals.length);
        return `(global.set $g${g} ${expr(ctx, globals[g]!)})`;
      }
      case 4: case 5: {
        const t = r.pick<ValType>(["i32", "i64"]);
        const [op, width] = r.pick(STORES[t]);
        return `(${op}${memarg()} ${addr(ctx, width)} ${expr(ctx, t)})`;
      }
      case 6: return `(if ${expr(ctx, "i32")} (then ${stmts(ctx, 1 + r.int(3))}) (else ${stmts(ctx, r.int(3))}))`;
      case 7: {
        const label = `$b${r.int(1e9)}`;
        const inner: Ctx = { ...ctx, labels: [...ctx.labels, label] };
        const body = stmts(inner, 1 + r.int(4));
        ctx.budget = inner.budget;
        return `(block ${label} ${body})`;
      }
      case 8: case 9: {
        if (ctx.loopDepth >= 3) return `(drop ${expr(ctx, "i32")})`;
        const c = newLocal(ctx, "i32");
        ctx.fn.counters.add(c);
        const exit = `$x${r.int(1e9)}`;
        const top = `$l${r.int(1e9)}`;
        const inner: Ctx = { ...ctx, labels: [...ctx.labels, exit, top], loopDepth: ctx.loopDepth + 1 };
        const body = stmts(inner, 1 + r.int(4));
        ctx.budget = inner.budget;
        const again = r.chance(0.3) ? `(br ${top})` : `(br_if ${top} ${expr(ctx, "i32")})`;
        return `(local.set ${c} (i32.const 0)) (block ${exit} (loop ${top} (local.set ${c} (i32.add (local.get ${c}) (i32.const 1))) (br_if ${exit} (i32.gt_u (local.get ${c}) (i32.const ${1 + r.int(12)}))) ${body} ${again}))`;
      }
      case 10: {
        if (ctx.labels.length === 0) return `(drop ${expr(ctx, "i64")})`;
        return `(br_if ${r.pick(ctx.labels)} ${expr(ctx, "i32")})`;
      }
      case 11: {
        if (ctx.labels.length === 0) return "(nop)";
        const targets = Array.from({ length: 1 + r.int(4) }, () => r.pick(ctx.labels));
        // br_table ends the block it is in; wrap it so what follows stays reachable.
        const skip = `$s${r.int(1e9)}`;
        return `(block ${skip} (br_if ${skip} ${expr(ctx, "i32")}) (br_table ${targets.join(" ")} ${skip} ${expr(ctx, "i32")}))`;
      }
      case 12: {
        const fs = callable(ctx, null);
        if (fs.length > 0 && r.chance(0.5)) {
          const f = r.pick(fs);
          return `(call ${f.name} ${callArgs(ctx, f.sig)})`;
        }
        return `(drop ${expr(ctx, r.pick<ValType>(["i32", "i64"]))})`;
      }
      case 13: {
        const u = r.int(5);
        const len = r.chance(0.9) ? `(i32.and ${expr(ctx, "i32")} (i32.const 255))` : expr(ctx, "i32");
        if (u === 0) return `(memory.fill ${addr(ctx, 256)} ${expr(ctx, "i32")} ${len})`;
        if (u === 1) return `(memory.copy ${addr(ctx, 256)} ${addr(ctx, 256)} ${len})`;
        if (u === 2) return `(memory.init $passive ${addr(ctx, 256)} (i32.and ${expr(ctx, "i32")} (i32.const 7)) (i32.and ${expr(ctx, "i32")} (i32.const 7)))`;
        if (u === 3 && r.chance(0.2)) return "(data.drop $passive)";
        return `(drop (memory.grow ${r.chance(0.8) ? `(i32.const ${r.int(2)})` : expr(ctx, "i32")}))`;
      }
      case 14: {
        if (!r.chance(0.15)) return "(nop)";
        // A conditional early exit (or trap) from the function.
        const ret = ctx.fn.sig.result ? `(return ${expr(ctx, ctx.fn.sig.result)})` : "(return)";
        return `(if ${expr(ctx, "i32")} (then ${r.chance(0.2) ? "(unreachable)" : ret}))`;
      }
      case 18: case 19: {
        if (!exceptions) return "(nop)";
        // try: its label is a branch target; its catch may rethrow; its handlers may be none.
        const label = `$try${r.int(1e9)}`;
        const inner: Ctx = { ...ctx, labels: [...ctx.labels, label] };
        const body = stmts(inner, 1 + r.int(3));
        if (r.chance(0.25)) {
          // delegate hands an exception to an enclosing label's handler (or the caller's).
          const target = ctx.labels.length && r.chance(0.7) ? r.pick(ctx.labels) : String(ctx.labels.length);
          ctx.budget = inner.budget;
          return `(try ${label} (do ${body}) (delegate ${target}))`;
        }
        const handler: Ctx = { ...inner, catches: [...ctx.catches, label] };
        const l = localOf(ctx, "i32", true);
        const caught = `(catch $e ${l !== undefined && r.chance(0.6) ? `(local.set ${l})` : "(drop)"} ${stmts(handler, r.int(3))})`;
        const all = r.chance(0.4) ? `(catch_all ${stmts(handler, r.int(2))})` : "";
        ctx.budget = handler.budget;
        return `(try ${label} (do ${body}) ${r.chance(0.8) ? caught : ""} ${all})`;
      }
      case 20: {
        if (!exceptions) return "(nop)";
        if (ctx.catches.length && r.chance(0.4)) return `(if ${expr(ctx, "i32")} (then (rethrow ${r.pick(ctx.catches)})))`;
        return `(if ${expr(ctx, "i32")} (then (throw $e ${expr(ctx, "i32")})))`;
      }
      case 21: {
        // A tail call to a later function of the same result type (never back: no cycles).
        const fs = ctx.fn.pure ? [] : fns.slice(fns.indexOf(ctx.fn) + 1).filter((f) => f.sig.result === ctx.fn.sig.result && !(ctx.fn === startFn));
        if (fs.length === 0) return "(nop)";
        const f = r.pick(fs);
        return `(if ${expr(ctx, "i32")} (then (return_call ${f.name} ${callArgs(ctx, f.sig)})))`;
      }
      case 22: {
        const u = r.int(3);
        if (u === 0) return `(v128.store${memarg()} ${addr(ctx, 16)} (i32x4.splat ${expr(ctx, "i32")}))`;
        if (u === 1 && pureFns.length) return `(table.set $tab (i32.and ${expr(ctx, "i32")} (i32.const 7)) (ref.func ${r.pick(pureFns).name}))`;
        return `(table.fill $tab (i32.and ${expr(ctx, "i32")} (i32.const 3)) (ref.null func) (i32.and ${expr(ctx, "i32")} (i32.const 3)))`;
      }
      default: {
        const t = r.pick<ValType>(["i32", "i64"]);
        const l = localOf(ctx, t, true) ?? newLocal(ctx, t);
        return `(local.set ${l} ${expr(ctx, t)})`;
      }
    }
  }

  /** An i32 computed through v128 lanes (loads, shuffles, lane arithmetic). */
  function simd(ctx: Ctx): string {
    const v = r.chance(0.3) ? `(v128.load${memarg()} ${addr(ctx, 16)})` : `(i32x4.splat ${expr(ctx, "i32")})`;
    const lanes = Array.from({ length: 16 }, () => r.int(32)).join(" ");
    const mixed = r.chance(0.5)
      ? `(i8x16.shuffle ${lanes} ${v} (v128.const i32x4 ${r.int(1000)} -1 0x7fffffff ${r.int(9)}))`
      : `(i32x4.${r.pick(["add", "sub", "mul", "min_s", "max_u"])} ${v} (v128.const i32x4 ${r.int(1000)} -1 0x7fffffff ${r.int(9)}))`;
    return r.chance(0.5) ? `(i32x4.extract_lane ${r.int(4)} ${mixed})` : `(i8x16.extract_lane_u ${r.int(16)} ${mixed})`;
  }

  const body = (fn: Fn): string => {
    const ctx: Ctx = { fn, labels: [], catches: [], budget: size, loopDepth: 0 };
    const code = stmts(ctx, 2 + r.int(6));
    const tail = fn.sig.result ? expr({ ...ctx, budget: Math.max(ctx.budget, 4) }, fn.sig.result) : "";
    const params = fn.sig.params.map((p) => `(param ${p})`).join(" ");
    const result = fn.sig.result ? `(result ${fn.sig.result})` : "";
    const locals = fn.locals.slice(fn.sig.params.length).map((l) => `(local ${l})`).join(" ");
    return `(func ${fn.name} ${params} ${result} ${locals} ${code} ${tail})`;
  };

  const funcs = fns.map((f) => body(f));
  const recExpr = expr({ fn: rec, labels: [], catches: [], budget: Math.min(size, 12), loopDepth: 0 }, "i32");
  const recLocals = rec.locals.slice(1).map((l) => `(local ${l})`).join(" ");
  const recFunc = `(func $rec (param i32) (result i32) ${recLocals} (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 1)) (else (i32.add (call $rec (i32.sub (local.get 0) (i32.const 1))) ${recExpr}))))`;

  const hasStart = r.chance(0.3);
  const start = hasStart ? body(startFn) : "";

  const data = Array.from({ length: 32 }, () => `\\${r.int(256).toString(16).padStart(2, "0")}`).join("");
  const lines = [
    "(module",
    ...[...typeNames].map(([key, name]) => {
      const f = pureFns.find((p) => sigKey(p.sig) === key)!;
      return `  (type ${name} (func ${f.sig.params.map((p) => `(param ${p})`).join(" ")} ${f.sig.result ? `(result ${f.sig.result})` : ""}))`;
    }),
    `  (memory (export "memory") 1 4)`,
    `  (table $tab ${table.length} funcref)`,
    ...(exceptions ? ["  (tag $e (param i32))"] : []),
    `  (elem (i32.const 0) func ${table.filter((x) => x !== null).join(" ")})`,
    ...globals.map((t, i) => `  (global $g${i} ${options.world === "plain" ? `(export "g${i}") ` : ""}(mut ${t}) ${t === "i32" ? `(i32.const ${r.int(1000)})` : `(i64.const ${r.int(1000)})`})`),
    `  (data (i32.const ${r.int(4096)}) "${data}")`,
    `  (data $passive "${data.slice(0, 3 * 8)}")`,
    ...funcs.map((f, i) => (options.world === "plain" ? f.replace(`(func $f${i} `, `(func $f${i} (export "f${i}") `) : f)),
    recFunc,
  ];
  if (hasStart) lines.push(start, "  (start $start)");
  if (options.world === "solo") lines.push(soloAbi(fns[0]!.sig));
  lines.push(")");
  return { wat: fixTable(lines.join("\n"), table), functions: sigs, globals };
}

/** Writes the table's elements as two segments around its null slot. */
function fixTable(wat: string, table: (string | null)[]): string {
  const nullAt = table.indexOf(null);
  const before = table.slice(0, nullAt).join(" ");
  const after = table.slice(nullAt + 1).join(" ");
  return wat.replace(/ {2}\(elem \(i32\.const 0\) func .*\)/, `  (elem (i32.const 0) func ${before})\n  (elem (i32.const ${nullAt + 1}) func ${after})`);
}

/** cabi_realloc (a bump allocator that grows memory) and handle: f0 on numbers from the request, its result as the reply's 8 bytes. */
function soloAbi(f0: FnSig): string {
  const arg = (t: ValType, i: number) =>
    t === "i32" ? `(i32.add (local.get $len) (i32.load8_u (i32.add (local.get $ptr) (i32.const ${i}))))` : `(i64.extend_i32_u (i32.mul (local.get $len) (i32.const ${i + 3})))`;
  const call = `(call $f0 ${f0.params.map(arg).join(" ")})`;
  const result = f0.result === "i64" ? call : f0.result === "i32" ? `(i64.extend_i32_u ${call})` : `(block (result i64) ${call} (i64.const 0))`;
  return `  (global $heap (mut i32) (i32.const 0x8000))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get 3)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))))
    (local.get $p))
  (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
    (i64.store (i32.const 0xffe0) ${result})
    (i32.store8 (i32.const 0xfff0) (i32.const 0))
    (i32.store (i32.const 0xfff4) (i32.const 0xffe0))
    (i32.store (i32.const 0xfff8) (i32.const 8))
    (i32.const 0xfff0))`;
}
