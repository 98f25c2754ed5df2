// Module hooks that let Node run this project's TypeScript directly: a .ts file is stripped of
// its types by esbuild (~1 ms a file) as it loads. Only .ts files are touched; packages load as
// Node loads them (a general loader that also rewrote node_modules took ~25 s on binaryen alone).
//
// Each output is kept on disk under the hash of its path and source, so a process that loads files
// already seen never starts esbuild (a fresh process imports the host in ~0.2 s instead of ~0.55 s;
// every test file, guest worker and builder process loads most of the host again). The cache is
// code this process will run: it lives in a directory of this user's only (mode 0700, owned by
// them, checked), and is not used at all when that cannot be had.
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CACHE = privateDir(join(tmpdir(), `solo-ts-cache-${process.getuid?.() ?? "user"}`));
let esbuild;

/** The directory if it is (or can be made) this user's alone; undefined otherwise. */
function privateDir(dir) {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    const mine = process.getuid === undefined || st.uid === process.getuid();
    return st.isDirectory() && mine && (st.mode & 0o077) === 0 ? dir : undefined;
  } catch {
    return undefined;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const source = readFileSync(new URL(url), "utf8");
  const file = CACHE && join(CACHE, `${createHash("sha256").update(url).update("\0").update(source).digest("hex").slice(0, 40)}.js`);
  if (file) {
    try {
      return { format: "module", source: readFileSync(file, "utf8"), shortCircuit: true };
    } catch {
      // Not seen yet: transformed below.
    }
  }
  esbuild ??= await import("esbuild");
  const out = await esbuild.transform(source, { loader: "ts", format: "esm", target: "node20", sourcemap: "inline", sourcefile: url });
  if (file) try {
    // Written whole under a temporary name, then renamed: a reader never sees half a file.
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(tmp, out.code);
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written only costs the next process a transform.
  }
  return { format: "module", source: out.code, shortCircuit: true };
}
