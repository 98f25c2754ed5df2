// AssemblyScript source -> core module -> component. asc runs in-process (~0.3 s warm, ~1 s
// cold); jco's componentEmbed + componentNew wrap the module (~50-150 ms). The component is
// checked against wit/solo.wit by componentNew, so a guest-sdk that drifts from the WIT fails here.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import * as assemblyscript from "assemblyscript";
import { SoloError, type Diagnostic } from "../errors.ts";
import { witSource } from "./wit.ts";
import { wrapCoreModule } from "./component-new.ts";
import { ASC_FLAGS, asEntry } from "./entries.ts";
import { LIFECYCLE_EXPORTS, worldFor, type LifecycleExport } from "../wasm/index.ts";
import { lineColumn } from "./line-column.ts";
import { AS_GUEST_PATH, ENTRY_SOURCE, GUEST_SOURCE, SOURCE_MAP_SECTION, codeSectionStart, customSection, type StoredSourceMap } from "../wasm/source-map.ts";
import { Reader, concat } from "../wasm/binary.ts";
import { decode, newInstruction } from "../wasm/instructions.ts";
import { readModuleInfo } from "../wasm/module-info.ts";

/** Opcodes after which code may be reached other than by falling through (see functionStarts). */
const BARRIERS = new Set([0x00, 0x03, 0x05, 0x0b, 0x0c, 0x0e, 0x0f, 0x12, 0x13]);

const SDK_DIR = fileURLToPath(new URL("../../guest-sdk/assemblyscript/", import.meta.url));
const ENTRY = "solo-entry.ts";
const SERVICE = AS_GUEST_PATH;

const sdkCache = new Map<string, string | null>();
function sdkFile(rel: string): string | null {
  if (!sdkCache.has(rel)) {
    try {
      sdkCache.set(rel, readFileSync(SDK_DIR + rel, "utf8"));
    } catch {
      sdkCache.set(rel, null);
    }
  }
  return sdkCache.get(rel)!;
}

// The parser's AST as far as finding top-level exports needs it (asc's own types are not exported).
interface AstStatement {
  kind: number;
  flags?: number;
  name?: { text: string };
  path?: unknown;
  members?: { exportedName: { text: string } }[] | null;
  declarations?: { name: { text: string }; flags: number }[];
}
const AS = assemblyscript as unknown as {
  Parser: new () => { parseFile(text: string, path: string, isEntry: boolean): void; sources: { statements: AstStatement[] }[] };
  NodeKind: Record<string, number>;
  CommonFlags: Record<string, number>;
};

/**
 * Which optional exports (health, migrate) the guest's own file exports at top level: a function,
 * a const, or `export { x as health }`. asc's parser alone (~1 ms), before the compile that needs
 * the answer; a source that does not parse is left to that compile to report.
 */
export function assemblyScriptLifecycle(source: string): LifecycleExport[] {
  const found = new Set<string>();
  try {
    const parser = new AS.Parser();
    parser.parseFile(source, SERVICE, false);
    const { NodeKind, CommonFlags } = AS;
    for (const st of parser.sources[0]?.statements ?? []) {
      if (st.kind === NodeKind.FunctionDeclaration) {
        if (st.name && st.flags! & CommonFlags.Export!) found.add(st.name.text);
      } else if (st.kind === NodeKind.Variable) {
        for (const d of st.declarations ?? []) if (d.flags & CommonFlags.Export!) found.add(d.name.text);
      } else if (st.kind === NodeKind.Export && !st.path) {
        for (const m of st.members ?? []) found.add(m.exportedName.text);
      }
    }
  } catch {
    // The compile reports what is wrong with the source.
  }
  return LIFECYCLE_EXPORTS.filter((name) => found.has(name));
}

/** Compiles one AssemblyScript file (named `file` in diagnostics) to a core module. */
export async function compileAssemblyScriptModule(source: string, file: string, lifecycle: readonly LifecycleExport[] = assemblyScriptLifecycle(source)): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  let map: string | undefined;
  const diagnostics: Diagnostic[] = [];
  const texts: Record<string, string> = { [SERVICE]: source, [ENTRY]: asEntry(lifecycle) };
  let result: { error?: Error | null };
  try {
    result = await main(source, texts, diagnostics, file, (b) => (binary = b), (m) => (map = m));
  } catch (err) {
    // Some failures escape asc: its recursive parser runs out of stack on deep nesting.
    const why = err instanceof RangeError && /call stack/.test(err.message) ? "it nests deeper than the compiler can follow; flatten the nesting" : `${(err as Error).name}: ${(err as Error).message}`;
    const message = `the AssemblyScript compiler gave up on this source: ${why}`;
    throw new SoloError("COMPILE_ERROR", `AssemblyScript compile failed: ${message}`, { diagnostics: [{ file, line: 1, column: 1, message }] });
  }
  if (diagnostics.length > 0 || result.error || !binary) {
    if (diagnostics.length === 0) diagnostics.push({ file, line: 1, column: 1, message: result.error?.message ?? "asc produced no output" });
    const first = diagnostics[0]!;
    throw new SoloError("COMPILE_ERROR", `AssemblyScript compile failed: ${first.file}:${first.line}:${first.column}: ${first.message}${diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : ""}`, { diagnostics });
  }
  return withSourceMap(binary, map);
}

/**
 * The module with asc's map in SOURCE_MAP_SECTION (wasm/source-map.ts): sources named canonically
 * (the guest's file is named at run time, as its deploy named it), no contents, offsets made
 * relative to the code section. ~2-10 KB for a small guest.
 */
function withSourceMap(binary: Uint8Array, text: string | undefined): Uint8Array {
  const codeStart = codeSectionStart(binary);
  if (text === undefined || codeStart === undefined) return binary;
  const asc = JSON.parse(text) as { sources: string[]; mappings: string };
  const sources = asc.sources.map((s) => (s === SERVICE ? GUEST_SOURCE : s === ENTRY ? ENTRY_SOURCE : sdkName(s)));
  const map: StoredSourceMap = { sources, mappings: asc.mappings, codeStart, ...functionStarts(binary, codeStart) };
  return concat([binary, customSection(SOURCE_MAP_SECTION, JSON.stringify(map))]);
}

/**
 * Where each function body starts, relative to the code section, how many functions are imported,
 * and the barriers: every instruction after which code may be reached other than by falling
 * through (loop, else, end, br, br_table, return, unreachable, return_call*), as deltas.
 */
function functionStarts(binary: Uint8Array, codeStart: number): Pick<StoredSourceMap, "functions" | "firstFunction" | "barriers"> {
  const r = new Reader(binary, codeStart);
  const functions: number[] = [];
  const barriers: number[] = [];
  const ins = newInstruction();
  let last = 0;
  for (let n = r.u32(), i = 0; i < n; i++) {
    const size = r.u32();
    const end = r.pos + size;
    functions.push(r.pos - codeStart);
    for (let k = r.u32(), j = 0; j < k; j++) {
      r.u32();
      r.byte();
    }
    const body = new Reader(binary, r.pos, end);
    while (!body.done) {
      decode(body, ins);
      if (BARRIERS.has(ins.op)) {
        barriers.push(ins.at - codeStart - last);
        last = ins.at - codeStart;
      }
    }
    r.pos = end;
  }
  return { functions, firstFunction: readModuleInfo(binary).importedFunctions, barriers };
}

/** One asc run over the in-memory files; errors go to `diagnostics`, the module to `out`, its source map to `outMap`. */
function main(source: string, texts: Record<string, string>, diagnostics: Diagnostic[], file: string, out: (binary: Uint8Array) => void, outMap: (map: string) => void) {
  return asc.main([ENTRY, "--outFile", "out.wasm", ...ASC_FLAGS], {
    readFile(name: string) {
      if (name in texts) return texts[name]!;
      const m = /^node_modules\/solo\/(.+)$/.exec(name);
      if (m) return sdkFile(m[1]!);
      return null;
    },
    writeFile(name: string, contents: Uint8Array | string) {
      if (name === "out.wasm" && typeof contents !== "string") out(contents);
      else if (name === "out.wasm.map") outMap(typeof contents === "string" ? contents : new TextDecoder().decode(contents));
    },
    listFiles() {
      return [];
    },
    reportDiagnostic(d: { message: string; category: number; range: { start: number; source: { normalizedPath: string } } | null }) {
      if (d.category !== 3) return; // errors only; warnings do not block
      const path = d.range?.source.normalizedPath;
      if (path === ENTRY && d.range) {
        diagnostics.push(entryDiagnostic(source, texts[ENTRY]!, d.range.start, d.message, file));
        return;
      }
      const where = path === SERVICE ? source : path && path in texts ? texts[path]! : undefined;
      const pos = where !== undefined && d.range ? lineColumn(where, d.range.start) : { line: 1, column: 1 };
      diagnostics.push({ file: path === SERVICE || !path ? file : sdkName(path), ...pos, message: d.message });
    },
  });
}

/** What the generated entry expects of each export it calls. */
const EXPECTED: Record<string, string> = {
  handle: "export function handle(request: string): string",
  health: "export function health(): string | null",
  migrate: "export function migrate(fromVersion: u32): string | null",
};

/**
 * An error inside the generated entry is a guest export of the wrong shape: said as such, at the
 * guest's own declaration of it.
 */
function entryDiagnostic(source: string, entry: string, offset: number, message: string, file: string): Diagnostic {
  const before = entry.slice(0, offset);
  const name = /export function (\w+)\([^)]*\)[^{]*\{[^}]*$/.exec(before)?.[1] ?? "handle";
  const at = new RegExp(`\\b(function|const|let|as)\\s+${name}\\b`).exec(source);
  const pos = at ? lineColumn(source, at.index) : { line: 1, column: 1 };
  return { file, ...pos, message: `${name} must be declared as \`${EXPECTED[name] ?? name}\`: ${message}` };
}

function sdkName(path: string): string {
  return path.replace(/^~lib\/solo\//, "solo/").replace(/^node_modules\/solo\//, "solo/");
}

/** AssemblyScript source -> component bytes, for the world that matches its optional exports. */
export async function compileAssemblyScript(source: string, file: string): Promise<Uint8Array> {
  const lifecycle = assemblyScriptLifecycle(source);
  const core = await compileAssemblyScriptModule(source, file, lifecycle);
  return wrapCoreModule(core, "utf16", witSource(), worldFor(lifecycle));
}
