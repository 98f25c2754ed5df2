// AssemblyScript source -> core module -> component. asc runs in-process (~0.3 s warm, ~1 s
// cold); jco's componentEmbed + componentNew wrap the module (~50-150 ms). The component is
// checked against wit/solo.wit by componentNew, so a guest-sdk that drifts from the WIT fails here.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { SoloError, type Diagnostic } from "../errors.ts";
import { witSource } from "./wit.ts";
import { wrapCoreModule } from "./component-new.ts";

const SDK_DIR = fileURLToPath(new URL("../../guest-sdk/assemblyscript/", import.meta.url));
const ENTRY = "solo-entry.ts";
const SERVICE = "service.ts";

// The generated entry exports the world's core ABI around the guest's `handle`.
export const AS_ENTRY = `import { handle as guestHandle } from "./service";
import { liftString, returnResult } from "solo/abi";
export { cabi_realloc } from "solo/abi";
export function handle(ptr: usize, len: i32): usize {
  return returnResult(guestHandle(liftString(ptr, len)));
}
`;

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

export const ASC_VERSION: string = (asc as unknown as { version: string }).version;

/** The compiler flags; part of the artifact cache key. */
export const ASC_FLAGS = [
  "-O3", "--runtime", "incremental",
  "--use", "abort=~lib/solo/abi/soloAbort", "--use", "trace=~lib/solo/abi/soloTrace", "--use", "seed=~lib/solo/abi/soloSeed",
];

/** Compiles one AssemblyScript file (named `file` in diagnostics) to a core module. */
export async function compileAssemblyScriptModule(source: string, file: string): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const diagnostics: Diagnostic[] = [];
  const texts: Record<string, string> = { [SERVICE]: source, [ENTRY]: AS_ENTRY };
  const result = await asc.main([ENTRY, "--outFile", "out.wasm", ...ASC_FLAGS], {
    readFile(name: string) {
      if (name in texts) return texts[name]!;
      const m = /^node_modules\/solo\/(.+)$/.exec(name);
      if (m) return sdkFile(m[1]!);
      return null;
    },
    writeFile(name: string, contents: Uint8Array | string) {
      if (name === "out.wasm" && typeof contents !== "string") binary = contents;
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
  if (diagnostics.length > 0 || result.error || !binary) {
    const first = diagnostics[0];
    const where = first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : result.error?.message ?? "no output";
    throw new SoloError("COMPILE_ERROR", `AssemblyScript compile failed: ${where}${diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : ""}`, { diagnostics });
  }
  return binary;
}

function sdkName(path: string): string {
  return path.replace(/^~lib\/solo\//, "solo/").replace(/^node_modules\/solo\//, "solo/");
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** AssemblyScript source -> component bytes. */
export async function compileAssemblyScript(source: string, file: string): Promise<Uint8Array> {
  const core = await compileAssemblyScriptModule(source, file);
  return wrapCoreModule(core, "utf16", witSource());
}
