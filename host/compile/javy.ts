// JavaScript -> Javy module, when a `javy` binary is available (JAVY_PATH, or `javy` on PATH).
// javy cannot be installed from npm without downloading a binary, so Solo never fetches it;
// without one, a deploy that asks for it gets a clear UNAVAILABLE.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { accessSync, constants } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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

const run = promisify(execFile);

/** Runs `javy build` as a child process (never blocking the host thread); up to 2 minutes. */
export async function compileWithJavy(source: string, file: string): Promise<Uint8Array> {
  const javy = findJavy();
  if (!javy) {
    throw new SoloError("UNAVAILABLE", "no javy binary here: install the javy CLI and put it on PATH or set JAVY_PATH, deploy a javy-built module as language \"javy\", or leave compiler unset to build with QuickJS (componentize-qjs)", { field: "compiler" });
  }
  const dir = await mkdtemp(join(tmpdir(), "solo-javy-"));
  try {
    const input = join(dir, "index.js");
    const output = join(dir, "index.wasm");
    await writeFile(input, source);
    try {
      await run(javy, ["build", "-o", output, input], { encoding: "utf8", timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      const message = (e.stderr || e.stdout || e.message || "javy failed").trim();
      throw new SoloError("COMPILE_ERROR", `javy build failed: ${message}`, { diagnostics: [{ file, line: 1, column: 1, message }] });
    }
    return new Uint8Array(await readFile(output));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
