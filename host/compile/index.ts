// Source -> component. The compile key names everything that decides the output, so the
// artifact cache can skip a compile it has done before.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SoloError } from "../errors.ts";
import { ASC_FLAGS, ASC_VERSION, AS_ENTRY, compileAssemblyScript } from "./assemblyscript.ts";
import { JS_ENTRY, compileJavaScript } from "./javascript.ts";
import type { Language } from "./languages.ts";
import { witSource } from "./wit.ts";

export { languageOf, checkLanguage, LANGUAGES, type Language } from "./languages.ts";
export { lineColumn } from "./assemblyscript.ts";
export { compileWithJavy, findJavy } from "./javy.ts";

const QJS_VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL("../../node_modules/componentize-qjs/package.json", import.meta.url)), "utf8")) as { version: string }).version;

let sdkHash: string | undefined;
/** Hash of the guest-sdk and WIT: a change to either invalidates compiled components. */
function sdkVersion(): string {
  if (!sdkHash) {
    const h = createHash("sha256");
    const dir = fileURLToPath(new URL("../../guest-sdk/", import.meta.url));
    for (const sub of readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => `${d.parentPath ?? d.path}/${d.name}`).sort()) {
      h.update(sub).update(readFileSync(sub));
    }
    h.update(witSource());
    sdkHash = h.digest("hex");
  }
  return sdkHash;
}

export function compileKey(language: Language, source: string | Uint8Array): string {
  const h = createHash("sha256");
  h.update(language).update("\0").update(source).update("\0").update(sdkVersion());
  // The generated entries are part of what decides the output.
  if (language === "assemblyscript") h.update(ASC_VERSION).update(ASC_FLAGS.join(" ")).update(AS_ENTRY);
  else if (language === "typescript" || language === "javascript") h.update(`componentize-qjs ${QJS_VERSION} sync stubWasi`).update(JS_ENTRY);
  return h.digest("hex");
}

/** Compiles source text to component bytes. `file` names it in diagnostics. */
export async function compile(language: Language, source: string, file: string): Promise<Uint8Array> {
  switch (language) {
    case "assemblyscript":
      return compileAssemblyScript(source, file);
    case "typescript":
    case "javascript":
      return compileJavaScript(source, file, language);
    default:
      throw new SoloError("INVALID_ARGUMENT", `language "${language}" is not compiled from source; deploy its bytes`, { field: "language" });
  }
}
