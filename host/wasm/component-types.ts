// The component-level type of a top-level function export, read from the binary: the export's
// function index, back through `canon lift` to its function type, and that type's parameters and
// result written the way WIT writes them ("func(u32) -> result<_, string>", parameter names left
// out). Core types cannot tell `result<_, string>` from `u32`, so an optional export is checked
// here. Reads every type, alias, canon, import and export entry once: O(size), nothing compiled.
// Anything it cannot follow (a function aliased from a nested instance, a type it does not
// decode) answers undefined, and the caller refuses the export.
import { Reader, sections } from "./binary.ts";

const SECTION = { alias: 6, type: 7, canon: 8, import: 10, export: 11 } as const;
const SORT = { core: 0x00, func: 0x01, value: 0x02, type: 0x03, component: 0x04, instance: 0x05 } as const;

const PRIMITIVES: Record<number, string> = {
  0x7f: "bool", 0x7e: "s8", 0x7d: "u8", 0x7c: "s16", 0x7b: "u16", 0x7a: "s32", 0x79: "u32", 0x78: "s64",
  0x77: "u64", 0x76: "f32", 0x75: "f64", 0x74: "char", 0x73: "string", 0x64: "error-context",
};

/** A value type: a primitive's name, or the index of a defined type. */
type ValType = string | number;

/** What one index of the type space holds, as far as a signature needs it. */
export type TypeDef =
  | { kind: "func"; params: ValType[]; result: ValType | undefined }
  | { kind: "result"; ok: ValType | undefined; err: ValType | undefined }
  | { kind: "same"; of: number }
  /** `defined`: a resource type defined right here (its handles belong to this instance). */
  | { kind: "other"; what: string; defined?: true };

/** What one index of the function space is. */
type FuncDef = { kind: "lift"; type: number } | { kind: "same"; of: number } | { kind: "import"; type: number } | { kind: "other" };

class Unreadable extends Error {}

/**
 * The WIT-style signature of each named top-level function export ("func() -> result<_, string>"),
 * or undefined for a name this reader cannot follow. Names the component does not export are left out.
 */
export function exportSignatures(bytes: Uint8Array, names: readonly string[]): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  const types: TypeDef[] = [];
  const funcs: FuncDef[] = [];
  const exported = new Map<string, number>();
  try {
    for (const s of sections(bytes)) {
      const r = new Reader(bytes, s.start, s.end);
      if (s.id === SECTION.type) {
        for (let n = r.u32(), i = 0; i < n; i++) types.push(defType(r));
      } else if (s.id === SECTION.import) {
        for (let n = r.u32(), i = 0; i < n; i++) {
          externName(r);
          const d = externDesc(r);
          if (d.sort === SORT.func) funcs.push({ kind: "import", type: d.index });
          else if (d.sort === SORT.type) types.push(d.eq === undefined ? { kind: "other", what: "an imported type" } : { kind: "same", of: d.eq });
        }
      } else if (s.id === SECTION.alias) {
        for (let n = r.u32(), i = 0; i < n; i++) {
          const sort = readSort(r);
          aliasTarget(r);
          if (sort === SORT.func) funcs.push({ kind: "other" });
          else if (sort === SORT.type) types.push({ kind: "other", what: "an aliased type" });
        }
      } else if (s.id === SECTION.canon) {
        for (let n = r.u32(), i = 0; i < n; i++) {
          const op = r.byte();
          if (op === 0x00) {
            r.byte();
            r.u32();
            canonOpts(r);
            funcs.push({ kind: "lift", type: r.u32() });
          } else if (op === 0x01) {
            r.byte();
            r.u32();
            canonOpts(r);
          } else if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x07) r.u32();
          else throw new Unreadable(`canon ${op}`); // async built-ins: past here indices are unknown
        }
      } else if (s.id === SECTION.export) {
        for (let n = r.u32(), i = 0; i < n; i++) {
          const name = externName(r);
          const sort = readSort(r);
          const index = r.u32();
          if (r.byte() === 0x01) externDesc(r); // an ascribed type: the index space gets the item itself
          if (sort === SORT.func) {
            exported.set(name, funcs.length);
            funcs.push({ kind: "same", of: index });
          } else if (sort === SORT.type) types.push({ kind: "same", of: index });
        }
      }
    }
  } catch {
    // Indices past what was read are unknown; names exported before it still resolve.
  }
  for (const name of names) {
    const f = exported.get(name);
    if (f !== undefined) out.set(name, describeFunc(f, funcs, types));
  }
  return out;
}

function describeFunc(index: number, funcs: FuncDef[], types: TypeDef[]): string | undefined {
  for (let hops = 0; hops < 100; hops++) {
    const f = funcs[index];
    if (!f || f.kind === "other") return undefined;
    if (f.kind === "same") {
      index = f.of;
      continue;
    }
    const t = resolve(f.type, types);
    if (!t || t.kind !== "func") return undefined;
    const params = t.params.map((p) => valType(p, types, 0)).join(", ");
    return t.result === undefined ? `func(${params})` : `func(${params}) -> ${valType(t.result, types, 0)}`;
  }
  return undefined;
}

/** A function type's WIT-style signature, or undefined when it is not a function type this reader follows. */
export function describeFuncType(index: number, types: readonly (TypeDef | undefined)[]): string | undefined {
  const t = resolve(index, types);
  if (!t || t.kind !== "func") return undefined;
  const params = t.params.map((p) => valType(p, types, 0)).join(", ");
  return t.result === undefined ? `func(${params})` : `func(${params}) -> ${valType(t.result, types, 0)}`;
}

function resolve(index: number, types: readonly (TypeDef | undefined)[]): TypeDef | undefined {
  for (let hops = 0; hops < 100; hops++) {
    const t = types[index];
    if (!t || t.kind !== "same") return t;
    index = t.of;
  }
  return undefined;
}

function valType(v: ValType, types: readonly (TypeDef | undefined)[], depth: number): string {
  if (typeof v === "string") return v;
  const t = resolve(v, types);
  if (!t || depth > 20) return "?";
  if (t.kind === "result") {
    const ok = t.ok === undefined ? "_" : valType(t.ok, types, depth + 1);
    if (t.err === undefined) return t.ok === undefined ? "result" : `result<${ok}>`;
    return `result<${ok}, ${valType(t.err, types, depth + 1)}>`;
  }
  if (t.kind === "func") return "func";
  return t.kind === "other" ? t.what : "?";
}

// ---- the binary grammar (component model Binary.md), read only as far as skipping needs ----

function externName(r: Reader): string {
  const tag = r.byte();
  const name = r.name();
  if (tag === 0x01) r.name();
  return name;
}

function readSort(r: Reader): number {
  const sort = r.byte();
  if (sort === SORT.core) r.byte();
  return sort;
}

function aliasTarget(r: Reader): void {
  const kind = r.byte();
  if (kind === 0x00 || kind === 0x01) {
    r.u32();
    r.name();
  } else if (kind === 0x02) {
    r.u32();
    r.u32();
  } else throw new Unreadable(`alias target ${kind}`);
}

/** externdesc: which sort it describes, its type index, and for `(type (eq i))` the i. */
function externDesc(r: Reader): { sort: number; index: number; eq?: number } {
  const kind = r.byte();
  if (kind === 0x00) {
    r.byte();
    return { sort: SORT.core, index: r.u32() };
  }
  if (kind === 0x02) {
    if (r.byte() === 0x00) r.u32();
    else valTypeOf(r);
    return { sort: kind, index: 0 };
  }
  if (kind === 0x03) {
    if (r.byte() === 0x00) {
      const eq = r.u32();
      return { sort: kind, index: eq, eq };
    }
    return { sort: kind, index: 0 };
  }
  if (kind === 0x01 || kind === 0x04 || kind === 0x05) return { sort: kind, index: r.u32() };
  throw new Unreadable(`externdesc ${kind}`);
}

function canonOpts(r: Reader): void {
  for (let k = r.u32(), j = 0; j < k; j++) {
    const opt = r.byte();
    if (opt === 0x03 || opt === 0x04 || opt === 0x05 || opt === 0x07) r.u32();
    else if (opt > 0x07) throw new Unreadable(`canon option ${opt}`);
  }
}

function valTypeOf(r: Reader): ValType {
  const v = r.s33();
  if (v >= 0) return v;
  const code = v & 0x7f;
  const name = PRIMITIVES[code];
  if (!name) throw new Unreadable(`value type ${code}`);
  return name;
}

function optional<T>(r: Reader, read: (r: Reader) => T): T | undefined {
  return r.byte() === 0x01 ? read(r) : undefined;
}

function vec(r: Reader, each: (r: Reader) => void): number {
  const n = r.u32();
  for (let i = 0; i < n; i++) each(r);
  return n;
}

export function defType(r: Reader): TypeDef {
  const b = r.byte();
  if (PRIMITIVES[b]) return { kind: "other", what: PRIMITIVES[b]! };
  switch (b) {
    case 0x40:
    case 0x43: {
      const params: ValType[] = [];
      vec(r, (r) => {
        r.name();
        params.push(valTypeOf(r));
      });
      const tag = r.byte();
      let result: ValType | undefined;
      if (tag === 0x00) result = valTypeOf(r);
      else if (r.byte() !== 0x00) throw new Unreadable("named results");
      return b === 0x43 ? { kind: "other", what: "an async func" } : { kind: "func", params, result };
    }
    case 0x6a:
      return { kind: "result", ok: optional(r, valTypeOf), err: optional(r, valTypeOf) };
    case 0x72:
      vec(r, (r) => (r.name(), valTypeOf(r)));
      return { kind: "other", what: "record" };
    case 0x71:
      vec(r, (r) => {
        r.name();
        optional(r, valTypeOf);
        if (r.byte() !== 0x00) r.u32(); // an old `refines` index
      });
      return { kind: "other", what: "variant" };
    case 0x70:
      valTypeOf(r);
      return { kind: "other", what: "list" };
    case 0x67:
      valTypeOf(r);
      r.u32();
      return { kind: "other", what: "list" };
    case 0x6f:
      vec(r, valTypeOf);
      return { kind: "other", what: "tuple" };
    case 0x6e:
      vec(r, (r) => r.name());
      return { kind: "other", what: "flags" };
    case 0x6d:
      vec(r, (r) => r.name());
      return { kind: "other", what: "enum" };
    case 0x6b:
      valTypeOf(r);
      return { kind: "other", what: "option" };
    case 0x69:
    case 0x68:
      r.u32();
      return { kind: "other", what: "a resource handle" };
    case 0x66:
    case 0x65:
      optional(r, valTypeOf);
      return { kind: "other", what: b === 0x66 ? "stream" : "future" };
    case 0x63:
      valTypeOf(r);
      valTypeOf(r);
      return { kind: "other", what: "map" };
    case 0x41:
      vec(r, (r) => {
        if (r.bytes[r.pos] === 0x03) {
          r.byte();
          externName(r);
          externDesc(r);
        } else instanceDecl(r);
      });
      return { kind: "other", what: "a component type" };
    case 0x42:
      vec(r, instanceDecl);
      return { kind: "other", what: "an instance type" };
    case 0x3f:
      r.byte();
      optional(r, (r) => r.u32());
      return { kind: "other", what: "a resource", defined: true };
    case 0x3e:
      r.byte();
      r.u32();
      optional(r, (r) => r.u32());
      return { kind: "other", what: "a resource", defined: true };
    default:
      throw new Unreadable(`type ${b}`);
  }
}

function instanceDecl(r: Reader): void {
  const kind = r.byte();
  if (kind === 0x00) coreType(r);
  else if (kind === 0x01) defType(r);
  else if (kind === 0x02) {
    readSort(r);
    aliasTarget(r);
  } else if (kind === 0x04) {
    externName(r);
    externDesc(r);
  } else throw new Unreadable(`instance declaration ${kind}`);
}

function coreType(r: Reader): void {
  let b = r.byte();
  if (b === 0x00) b = r.byte(); // newer encoders prefix a module type with 0x00
  if (b === 0x60) {
    vec(r, coreValType);
    vec(r, coreValType);
  } else if (b === 0x50) {
    vec(r, (r) => {
      const kind = r.byte();
      if (kind === 0x00) {
        r.name();
        r.name();
        coreImportDesc(r);
      } else if (kind === 0x01) coreType(r);
      else if (kind === 0x02) {
        r.byte();
        aliasTarget(r);
      } else if (kind === 0x03) {
        r.name();
        coreImportDesc(r);
      } else throw new Unreadable(`module declaration ${kind}`);
    });
  } else throw new Unreadable(`core type ${b}`);
}

function coreValType(r: Reader): void {
  const b = r.byte();
  if (b < 0x6f || b > 0x7f) throw new Unreadable(`core value type ${b}`);
}

function coreImportDesc(r: Reader): void {
  const kind = r.byte();
  if (kind === 0x00) r.u32();
  else if (kind === 0x01) {
    coreValType(r);
    limits(r);
  } else if (kind === 0x02) limits(r);
  else if (kind === 0x03) {
    coreValType(r);
    r.byte();
  } else if (kind === 0x04) {
    r.byte();
    r.u32();
  } else throw new Unreadable(`core import ${kind}`);
}

function limits(r: Reader): void {
  const flags = r.byte();
  r.u32();
  if (flags & 0x01) r.u32();
}
