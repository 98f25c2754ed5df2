// Guests compiled from source for the fuzz and differential tests, cached on disk by compile key
// in the shared test cache (an AssemblyScript compile costs ~1-2 s, a QuickJS one ~1 s).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compile, compileKey, type Language } from "../../host/compile/index.ts";
import { TEST_CACHE } from "../helpers.ts";

export async function compiled(language: Language, source: string, file: string): Promise<Uint8Array> {
  const dir = join(TEST_CACHE, "fuzz-components");
  const path = join(dir, `${compileKey(language, source)}.wasm`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    const bytes = await compile(language, source, file);
    mkdirSync(dir, { recursive: true });
    // Test files run in parallel processes: a reader never sees half a file.
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
    return bytes;
  }
}
