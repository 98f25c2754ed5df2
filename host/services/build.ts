// A deploy's source -> a checked, metered, compiled artifact (each step cached by content hash).
// Validation, compile, inspection and metering run in the builder process (host/build), never here.
import { SoloError } from "../errors.ts";
import type { Language } from "../compile/index.ts";
import { isComponent } from "../wasm/index.ts";
import type { Artifact, ArtifactStore } from "../build/index.ts";
import { checkTypeCheckMode, type Finding } from "../validate/index.ts";
import type { ServiceLimits } from "./limits.ts";

const EXTENSIONS: Record<Language, string> = { assemblyscript: ".as.ts", typescript: ".ts", javascript: ".js", component: ".wasm", javy: ".wasm" };

export function defaultFile(service: string, language: Language): string {
  return `${service}${EXTENSIONS[language]}`;
}

export async function buildArtifact(artifacts: ArtifactStore, language: Language, source: string | Uint8Array, file: string, limits: ServiceLimits, compiler?: string, typeCheck?: unknown): Promise<{ artifact: Artifact; warnings: Finding[] }> {
  const typeMode = checkTypeCheckMode(typeCheck);
  if (compiler !== undefined && compiler !== "quickjs" && compiler !== "javy") throw new SoloError("INVALID_ARGUMENT", `compiler must be "quickjs" or "javy"`, { field: "compiler" });
  if (compiler === "javy" && language !== "javascript") throw new SoloError("INVALID_ARGUMENT", `compiler "javy" builds JavaScript only`, { field: "compiler" });
  if (language === "javy") {
    if (!(source instanceof Uint8Array)) throw new SoloError("INVALID_ARGUMENT", "a javy module must be given as bytes", { field: "source" });
    return { artifact: await artifacts.fromJavy(source, file), warnings: [] };
  }
  if (language === "component") {
    if (!(source instanceof Uint8Array)) throw new SoloError("INVALID_ARGUMENT", "a component must be given as bytes", { field: "source" });
    if (!isComponent(source)) throw new SoloError("VALIDATION_FAILED", "source is not a WebAssembly component (a core module must be wrapped with `wasm-tools component new` against wit/solo.wit)");
    // Uploaded bytes: a multi-module component runs from Solo's own plan of its graph, never jco glue.
    return { artifact: await artifacts.fromComponent(source, false, file), warnings: [] };
  }
  if (typeof source !== "string") throw new SoloError("INVALID_ARGUMENT", `${language} source must be text`, { field: "source" });
  return artifacts.fromSource({ language, source, file, maxSourceBytes: limits.maxSourceBytes, ...(compiler && { compiler }), ...(typeMode && { typeCheck: typeMode }) });
}

/** Services Solo compiled from source: their stored components may run through jco glue. */
export function builtBySolo(language: Language): boolean {
  return language === "typescript" || language === "javascript";
}
