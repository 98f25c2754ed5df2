// AssemblyScript source -> core module -> component. asc runs in-process (~0.3 s warm, ~1 s
// cold); jco's componentEmbed + componentNew wrap the module (~50-150 ms). The component is
// checked against wit/solo.wit by componentNew, so a guest-sdk that drifts from the WIT fails here.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { SoloError, type Diagnostic } from "../errors.ts";
import { witSource } from "./wit.ts";
import { wrapCoreModule } from "./component-new.ts";
import { ASC_FLAGS, AS_ENTRY } from "./entries.ts";
import { lineColumn } from "./line-column.ts";

const SDK_DIR = fileURLToPath(new URL("../../guest-sdk/assemblyscript/", import.meta.url));
const ENTRY = "solo-entry.ts";
const SERVICE = "service.ts";

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

/** Compiles one AssemblyScript file (named `file` in diagnostics) to a core module. */
export async function compileAssemblyScriptModule(source: string, file: string): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const diagnostics: Diagnostic[] = [];
  const texts: Record<string, string> = { [SERVICE]: source, [ENTRY]: AS_ENTRY };
  let result: { error?: Error | null };
  try {
    result = await main(source, texts, diagnostics, file, (b) => (binary = b));
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
  return binary;
}

/** One asc run over the in-memory files; errors go to `diagnostics`, the module to `out`. */
function main(source: string, texts: Record<string, string>, diagnostics: Diagnostic[], file: string, out: (binary: Uint8Array) => void) {
  return asc.main([ENTRY, "--outFile", "out.wasm", ...ASC_FLAGS], {
    readFile(name: string) {
      if (name in texts) return texts[name]!;
      const m = /^node_modules\/solo\/(.+)$/.exec(name);
      if (m) return sdkFile(m[1]!);
      return null;
    },
    writeFile(name: string, contents: Uint8Array | string) {
      if (name === "out.wasm" && typeof contents !== "string") out(contents);
    },
    listFiles() {
      return [];
    },
    reportDiagnostic(d: { message: string; category: number; range: { start: number; source: { normalizedPath: string } } | null }) {
      if (d.category !== 3) return; // errors only; warnings do not block
      const path = d.range?.source.normalizedPath;
      const where = path === SERVICE ? source : path && path in texts ? texts[path]! : undefined;
      const pos = where !== undefined && d.range ? lineColumn(where, d.range.start) : { line: 1, column: 1 };
      diagnostics.push({ file: path === SERVICE || !path ? file : sdkName(path), ...pos, message: d.message });
    },
  });
}

function sdkName(path: string): string {
  return path.replace(/^~lib\/solo\//, "solo/").replace(/^node_modules\/solo\//, "solo/");
}

/** AssemblyScript source -> component bytes. */
export async function compileAssemblyScript(source: string, file: string): Promise<Uint8Array> {
  const core = await compileAssemblyScriptModule(source, file);
  return wrapCoreModule(core, "utf16", witSource());
}
