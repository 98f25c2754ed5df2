// TypeScript / JavaScript source -> component. esbuild strips types and bundles the "solo"
// guest-sdk (~10-30 ms, as CommonJS); quickjs-snapshot.ts runs the bundle's top-level code in a
// QuickJS loader in the sandbox and writes the state it leaves into the component (~20-60 ms once
// the world's loader is ready, ~1.6 MB). The guest's `handle` becomes the world's; a guest that
// also exports `health` / `migrate` is built for the world with those exports.
//
// The bundle keeps only the parts of the guest-sdk the guest uses (the sdk runs nothing at load;
// console, Date and Math.random are injected only where mentioned), so its solo:agent imports are
// the interfaces the guest calls. The component is built for a world that imports just those,
// written next to the WIT for this build: it imports nothing else, and status.interfaces says so.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Message, type Plugin } from "esbuild";
import { SoloError, type Diagnostic } from "../errors.ts";
import { LIFECYCLE_EXPORTS, type LifecycleExport } from "../wasm/index.ts";
import { WORLD_IMPORTS, worldInterface } from "../wasm/world.ts";
import { JS_GLOBALS, jsEntry } from "./entries.ts";
import { evaluatedMap, snapshotGuest } from "./quickjs-snapshot.ts";
import type { CompileLimits } from "./index.ts";
import { ENTRY_SOURCE, GUEST_SOURCE, SOURCE_MAP_SECTION, customSection, type StoredSourceMap } from "../wasm/source-map.ts";
import { concat } from "../wasm/binary.ts";

const ENTRY_FILE = "solo-entry.js";

const SDK_DIR = fileURLToPath(new URL("../../guest-sdk/js/", import.meta.url));
const SDK = join(SDK_DIR, "index.js");
const GLOBAL = "solo-global:";
/** Imported first by the bundle's entry: runs before the guest (guest-sdk/js/globals/no-random.js). */
const PRELUDE = "solo-prelude:no-random";

/**
 * Only "solo" may be imported; the WIT interfaces stay external for componentize-qjs, and
 * side-effect free, so the bundle drops the ones nothing calls.
 */
function soloOnly(file: string, source: string, loader: "ts" | "js"): Plugin {
  return {
    name: "solo-imports",
    setup(b) {
      b.onLoad({ filter: /.*/, namespace: "guest" }, () => ({ contents: source, loader, resolveDir: "/" }));
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") {
          if (args.path.startsWith(GLOBAL)) return { path: join(SDK_DIR, "globals", args.path.slice(GLOBAL.length)), sideEffects: false };
          return undefined;
        }
        if (args.path === "guest:main") return { path: file, namespace: "guest" };
        // The entry's first import (PRELUDE), never the guest's.
        if (args.path === PRELUDE && args.namespace !== "guest") return { path: join(SDK_DIR, "globals", "no-random.js") };
        if (args.path === "solo") return { path: SDK, sideEffects: false };
        if (args.path.startsWith("solo:agent/") && args.importer.startsWith(SDK_DIR)) return { path: args.path, external: true, sideEffects: false };
        return { errors: [{ text: `"${args.path}" cannot be imported: a guest may import only "solo"` }] };
      });
    },
  };
}

function diagnostics(messages: Message[], file: string): Diagnostic[] {
  return messages.map((m) => ({
    file: m.location?.file && m.location.file !== "<stdin>" ? m.location.file.replace(/^guest:/, "") : file,
    line: m.location?.line ?? 1,
    column: (m.location?.column ?? 0) + 1,
    message: m.text,
  }));
}

/** One esbuild run of `entry` with the guest behind "guest:main"; COMPILE_ERROR carries every error's file, line and column. */
async function run(entry: string, source: string, file: string, language: "typescript" | "javascript", format: "esm" | "cjs" = "esm") {
  try {
    return await build({
      stdin: { contents: entry, sourcefile: ENTRY_FILE, loader: "js", resolveDir: "/" },
      bundle: true,
      write: false,
      outfile: "bundle.js",
      // The map (no contents, ~1-5 KB) lets a thrown error name the guest's line (wasm/source-map.ts).
      sourcemap: "external",
      sourcesContent: false,
      metafile: true,
      inject: JS_GLOBALS.map((g) => GLOBAL + g.file),
      define: Object.assign({}, ...JS_GLOBALS.map((g) => g.define)),
      format,
      platform: "neutral",
      target: "es2020",
      logLevel: "silent",
      plugins: [soloOnly(file, source, language === "typescript" ? "ts" : "js")],
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (!errors) throw err;
    const d = diagnostics(errors, file);
    const first = d[0]!;
    throw new SoloError("COMPILE_ERROR", `${language === "typescript" ? "TypeScript" : "JavaScript"} compile failed: ${first.file}:${first.line}:${first.column}: ${first.message}${d.length > 1 ? ` (and ${d.length - 1} more)` : ""}`, { diagnostics: d });
  }
}

/**
 * Which optional exports (health, migrate) the guest module exports: esbuild's metafile lists a
 * bundle's exports, so the guest is bundled once on its own (~5-20 ms) before its real entry.
 */
export async function javaScriptLifecycle(source: string, file: string, language: "typescript" | "javascript"): Promise<LifecycleExport[]> {
  const out = await run(`export * from "guest:main";`, source, file, language);
  const exports = new Set(Object.values(out.metafile.outputs).flatMap((o) => o.exports ?? []));
  return LIFECYCLE_EXPORTS.filter((name) => exports.has(name));
}

/**
 * Type-strips and bundles the guest behind Solo's entry; COMPILE_ERROR carries every error's file,
 * line and column. `map`: the bundle's source map as SOURCE_MAP_SECTION keeps it; `interfaces`: the
 * solo:agent interfaces the bundle calls.
 */
export async function bundle(source: string, file: string, language: "typescript" | "javascript", lifecycle: readonly LifecycleExport[] = []): Promise<{ js: string; map: StoredSourceMap; interfaces: string[] }> {
  const out = await run(`import ${JSON.stringify(PRELUDE)};\n${jsEntry(lifecycle)}`, source, file, language, "cjs");
  const imported = Object.values(out.metafile.outputs).flatMap((o) => o.imports).filter((i) => i.external).map((i) => worldInterface(i.path));
  const interfaces = Object.keys(WORLD_IMPORTS).filter((name) => imported.includes(name));
  const js = out.outputFiles.find((f) => f.path.endsWith(".js"))!.text;
  const raw = JSON.parse(out.outputFiles.find((f) => f.path.endsWith(".map"))!.text) as { sources: string[]; mappings: string };
  return { js, map: { sources: raw.sources.map(sourceName), mappings: raw.mappings }, interfaces };
}

// esbuild names sources relative to the output: "guest:<file>" (the guest's namespace), the SDK by
// its path, the entry by its stdin name.
function sourceName(s: string): string {
  if (s.startsWith("guest:")) return GUEST_SOURCE;
  if (s.endsWith(ENTRY_FILE)) return ENTRY_SOURCE;
  if (s.endsWith("guest-sdk/js/index.js")) return "solo/index.js";
  return s;
}

export async function compileJavaScript(source: string, file: string, language: "typescript" | "javascript", limits: CompileLimits = {}): Promise<Uint8Array> {
  const lifecycle = await javaScriptLifecycle(source, file, language);
  const { js, map: bundled, interfaces } = await bundle(source, file, language, lifecycle);
  const map = evaluatedMap(bundled);
  const component = await snapshotGuest(js, map, file, interfaces, lifecycle, limits);
  // The map rides in the component (a top-level custom section): stored with it, read back with it.
  return concat([component, customSection(SOURCE_MAP_SECTION, JSON.stringify(map))]);
}
