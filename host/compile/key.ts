// The compile key names everything that decides a build's output (language, source, guest-sdk
// and WIT, compiler versions, flags and generated entries), so a cache can skip a build it has
// done before. Versions are read from package.json: hashing needs no compiler loaded.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { ASC_FLAGS, AS_ENTRIES, JS_ENTRIES } from "./entries.ts";
import type { Language } from "./languages.ts";
import { witSource } from "./wit.ts";
import { typeCheckerVersion } from "../validate/typecheck.ts";

/** A dependency's version, from the package.json above wherever Node resolves it (hoisted or not). */
export function packageVersion(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version: string };
      if (pkg.name === name) return pkg.version;
    } catch { /* not here: look further up */ }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find ${name}'s package.json`);
    dir = up;
  }
}

let versions: { asc: string; qjs: string } | undefined;
let sdkHash: string | undefined;

/**
 * Hash of the guest-sdk and WIT: a change to either invalidates compiled components. Files are
 * named relative to guest-sdk/, so a checkout in another folder keeps its keys.
 */
function sdkVersion(): string {
  if (!sdkHash) {
    const h = createHash("sha256");
    const dir = fileURLToPath(new URL("../../guest-sdk/", import.meta.url));
    for (const sub of readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => `${d.parentPath ?? d.path}/${d.name}`).sort()) {
      h.update(relative(dir, sub)).update("\0").update(readFileSync(sub));
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
  if (language === "assemblyscript") h.update(versions.asc).update(ASC_FLAGS.join(" ")).update(AS_ENTRIES);
  else if (language === "typescript" || language === "javascript") h.update(`componentize-qjs ${versions.qjs} sync stubWasi`).update(JS_ENTRIES);
  // A TypeScript build's answer carries its type-check findings: the checker's version decides them.
  if (language === "typescript") h.update(`typecheck ${typeCheckerVersion()}`);
  return h.digest("hex");
}
