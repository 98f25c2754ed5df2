// The compile key names everything that decides a build's output (language, source, guest-sdk
// and WIT, compiler versions, flags and generated entries), so a cache can skip a build it has
// done before. Versions are read from package.json: hashing needs no compiler loaded.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ASC_FLAGS, AS_ENTRY, JS_ENTRY } from "./entries.ts";
import type { Language } from "./languages.ts";
import { witSource } from "./wit.ts";

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(fileURLToPath(new URL(`../../node_modules/${name}/package.json`, import.meta.url)), "utf8")) as { version: string }).version;
}

let versions: { asc: string; qjs: string } | undefined;
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
  versions ??= { asc: packageVersion("assemblyscript"), qjs: packageVersion("componentize-qjs") };
  const h = createHash("sha256");
  h.update(language).update("\0").update(source).update("\0").update(sdkVersion());
  if (language === "assemblyscript") h.update(versions.asc).update(ASC_FLAGS.join(" ")).update(AS_ENTRY);
  else if (language === "typescript" || language === "javascript") h.update(`componentize-qjs ${versions.qjs} sync stubWasi`).update(JS_ENTRY);
  return h.digest("hex");
}
