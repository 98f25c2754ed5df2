// Module hooks that let Node run this project's TypeScript directly: a .ts file is stripped of
// its types by esbuild (~1 ms a file) as it loads. Only .ts files are touched; packages load as
// Node loads them (a general loader that also rewrote node_modules took ~25 s on binaryen alone).
import { readFile } from "node:fs/promises";
import { transform } from "esbuild";

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !url.endsWith(".ts")) return nextLoad(url, context);
  const source = await readFile(new URL(url), "utf8");
  const out = await transform(source, { loader: "ts", format: "esm", target: "node20", sourcemap: "inline", sourcefile: url });
  return { format: "module", source: out.code, shortCircuit: true };
}
