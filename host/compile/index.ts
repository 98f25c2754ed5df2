// Source -> component. The compilers load on first use (asc alone takes ~1.5 s), and only in the
// builder process (host/build): the host imports this folder for the compile key and languages.
import { SoloError } from "../errors.ts";
import type { Language } from "./languages.ts";

export { languageOf, checkLanguage, LANGUAGES, type Language } from "./languages.ts";
export { lineColumn } from "./line-column.ts";
export { compileKey } from "./key.ts";
export { compileWithJavy, findJavy } from "./javy.ts";

/**
 * What a build may use. memoryBytes: buildMemoryBytes (a TS/JS guest's top-level code runs at
 * build time under half of it); kept: where a build keeps what the next can reuse (the QuickJS
 * loader; ArtifactCache.kept), by key.
 */
export interface CompileLimits {
  memoryBytes?: number;
  kept?: (key: string, make: () => Uint8Array | Promise<Uint8Array>) => Promise<Uint8Array>;
  /**
   * Names the store `kept` writes to (the cache directory): what a process prepared for one
   * store it does not use for another, so each store gets its own kept files.
   */
  keptIn?: string;
}

/** Compiles source text to component bytes. `file` names it in diagnostics. */
export async function compile(language: Language, source: string, file: string, limits: CompileLimits = {}): Promise<Uint8Array> {
  switch (language) {
    case "assemblyscript":
      return (await import("./assemblyscript.ts")).compileAssemblyScript(source, file);
    case "typescript":
    case "javascript":
      return (await import("./javascript.ts")).compileJavaScript(source, file, language, limits);
    default:
      throw new SoloError("INVALID_ARGUMENT", `language "${language}" is not compiled from source; deploy its bytes`, { field: "language" });
  }
}
