// What a core module declares: types, imports, exports, counts and memory sizes. Read from the
// binary's sections without compiling it; O(size of the non-code sections).
import { Reader, sections } from "./binary.ts";

export type ValType = number;
export interface FuncType { params: ValType[]; results: ValType[] }
export interface ModuleImport { module: string; name: string; kind: "function" | "table" | "memory" | "global" | "tag"; type?: FuncType }
export interface ModuleExport { name: string; kind: "function" | "table" | "memory" | "global" | "tag"; index: number; type?: FuncType }
export interface MemoryDecl { initialPages: number; maximumPages?: number; imported: boolean }

export interface ModuleInfo {
  types: FuncType[];
  imports: ModuleImport[];
  exports: ModuleExport[];
  /** Type index of every function, imported ones first. */
  functionTypes: number[];
  importedFunctions: number;
  importedGlobals: number;
  definedGlobals: number;
  functions: number;
  tables: number;
  memories: MemoryDecl[];
  dataSegments: number;
  hasStart: boolean;
  /** Index of the start function, if there is one. */
  start?: number;
}

const KINDS = ["function", "table", "memory", "global", "tag"] as const;
export const I32 = 0x7f;
export const I64 = 0x7e;

export function readModuleInfo(bytes: Uint8Array): ModuleInfo {
  const info: ModuleInfo = {
    types: [], imports: [], exports: [], functionTypes: [], importedFunctions: 0, importedGlobals: 0,
    definedGlobals: 0, functions: 0, tables: 0, memories: [], dataSegments: 0, hasStart: false,
  };
  for (const s of sections(bytes)) {
    const r = new Reader(bytes, s.start, s.end);
    switch (s.id) {
      case 1:
        for (let n = r.u32(), i = 0; i < n; i++) {
          const form = r.byte();
          if (form !== 0x60) throw new Error(`type form 0x${form.toString(16)} (GC types) is not supported`);
          const params = valTypes(r);
          const results = valTypes(r);
          info.types.push({ params, results });
        }
        break;
      case 2:
        for (let n = r.u32(), i = 0; i < n; i++) {
          const module = r.name();
          const name = r.name();
          const k = r.byte();
          const kind = KINDS[k];
          if (!kind) throw new Error(`unknown import kind ${k}`);
          const imp: ModuleImport = { module, name, kind };
          if (k === 0) {
            const t = r.u32();
            imp.type = info.types[t];
            info.functionTypes.push(t);
            info.importedFunctions++;
          } else if (k === 1) { valType(r); limits(r); info.tables++; }
          else if (k === 2) { const l = limits(r); info.memories.push({ ...l, imported: true }); }
          else if (k === 3) { valType(r); r.byte(); info.importedGlobals++; }
          else { r.byte(); r.u32(); }
          info.imports.push(imp);
        }
        break;
      case 3:
        for (let n = r.u32(), i = 0; i < n; i++) info.functionTypes.push(r.u32());
        break;
      case 4:
        for (let n = r.u32(), i = 0; i < n; i++) {
          if (r.bytes[r.pos] === 0x40) throw new Error("tables with initialisers are not supported");
          valType(r); limits(r); info.tables++;
        }
        break;
      case 5:
        for (let n = r.u32(), i = 0; i < n; i++) info.memories.push({ ...limits(r), imported: false });
        break;
      case 6:
        info.definedGlobals = r.u32();
        break;
      case 7:
        for (let n = r.u32(), i = 0; i < n; i++) {
          const name = r.name();
          const k = r.byte();
          const index = r.u32();
          const kind = KINDS[k] ?? "function";
          const exp: ModuleExport = { name, kind, index };
          if (k === 0) exp.type = info.types[info.functionTypes[index] ?? -1];
          info.exports.push(exp);
        }
        break;
      case 8:
        info.hasStart = true;
        info.start = r.u32();
        break;
      case 11:
        info.dataSegments = r.u32();
        break;
    }
  }
  info.functions = info.functionTypes.length;
  // Exports may precede nothing, but function types of defined functions come after imports: fix up.
  for (const e of info.exports) if (e.kind === "function") e.type = info.types[info.functionTypes[e.index] ?? -1];
  return info;
}

function valType(r: Reader): ValType {
  const b = r.byte();
  if (b === 0x63 || b === 0x64) r.s33();
  return b;
}

function valTypes(r: Reader): ValType[] {
  const out: ValType[] = [];
  for (let n = r.u32(), i = 0; i < n; i++) out.push(valType(r));
  return out;
}

function limits(r: Reader): { initialPages: number; maximumPages?: number } {
  const flags = r.byte();
  if (flags & 0x04) throw new Error("64-bit memories and tables are not supported");
  const initialPages = r.u32();
  return flags & 1 ? { initialPages, maximumPages: r.u32() } : { initialPages };
}

export function sameType(a: FuncType | undefined, b: FuncType): boolean {
  return !!a && a.params.length === b.params.length && a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) && a.results.every((t, i) => t === b.results[i]);
}

export function formatType(t: FuncType | undefined): string {
  if (!t) return "(unknown)";
  const name = (v: number) => ({ 0x7f: "i32", 0x7e: "i64", 0x7d: "f32", 0x7c: "f64" } as Record<number, string>)[v] ?? `0x${v.toString(16)}`;
  return `(${t.params.map(name).join(", ")}) -> (${t.results.map(name).join(", ")})`;
}
