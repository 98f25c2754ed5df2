// JavaScript -> Javy module, when a `javy` binary is available (JAVY_PATH, or `javy` on PATH).
// javy cannot be installed from npm without downloading a binary, so Solo never fetches it;
// without one, a deploy that asks for it gets a clear UNAVAILABLE.
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { SoloError } from "../errors.ts";

export function findJavy(): string | undefined {
  const candidates = process.env.JAVY_PATH ? [process.env.JAVY_PATH] : (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((d) => join(d, "javy"));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch { /* next */ }
  }
  return undefined;
}

export function compileWithJavy(source: string, file: string): Uint8Array {
  const javy = findJavy();
  if (!javy) {
    throw new SoloError("UNAVAILABLE", "no javy binary here: install the javy CLI and put it on PATH or set JAVY_PATH, deploy a javy-built module as language \"javy\", or leave compiler unset to build with QuickJS (componentize-qjs)", { field: "compiler" });
  }
  const dir = mkdtempSync(join(tmpdir(), "solo-javy-"));
  try {
    const input = join(dir, "index.js");
    const output = join(dir, "index.wasm");
    writeFileSync(input, source);
    const r = spawnSync(javy, ["build", "-o", output, input], { encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) {
      const message = (r.stderr || r.stdout || r.error?.message || "javy failed").trim();
      throw new SoloError("COMPILE_ERROR", `javy build failed: ${message}`, { diagnostics: [{ file, line: 1, column: 1, message }] });
    }
    return new Uint8Array(readFileSync(output));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
