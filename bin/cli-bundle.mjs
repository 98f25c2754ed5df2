// A prebuilt copy of the `solo` command: host/cli/index.ts and every verb but `start` and `dev`
// (they run a Host, whose storage worker and builder are TypeScript entries), bundled by esbuild
// into plain JavaScript, with the guest worker (host/runtime/worker.ts) as a second entry. Loading
// it needs no TypeScript hooks: the hooks cost a thread of their own and a round trip per file
// (~0.3-0.5 s of CPU a start); the bundle loads in ~20 ms. Packages stay outside it and load from
// node_modules as usual.
//
// It is made on first use and again whenever one of its sources changes: the manifest names each
// input with the hash of its content, and every start hashes them again (~60 files, ~2 ms). It
// lives in the checkout (.solo-cache/cli/, ignored by git) so that packages resolve as they do
// from the sources; `import.meta.url` in each module is replaced by its source file's URL, so
// paths relative to a module (wit/, guest-sdk/, worker entries) stay right. The manifest also
// names each output file with its hash, checked on every start (~250 KB, ~1 ms): a build missing
// a chunk or changed since (removed by a cleaner, cut short by a full disk) is made again rather
// than loaded. Anything that goes wrong answers undefined, and the caller runs from source.
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIR = join(ROOT, ".solo-cache", "cli");
const MANIFEST = join(DIR, "manifest.json");
const ENTRIES = { index: "host/cli/index.ts", worker: "host/runtime/worker.ts" };
/** In index.ts, only these verb modules are bundled; the other verbs' imports stay imports of their source. */
const BUNDLED_VERBS = new Set(["./local.ts", "./services.ts", "./events.ts", "./logs.ts", "./swap.ts", "./tokens.ts", "./secrets.ts", "./audit.ts", "./certs.ts", "./new.ts"]);
/** Builds older than this that the manifest no longer names are removed (a long `solo run` may still load chunks of its own). */
const KEEP_OLD_MS = 24 * 3600 * 1000;

/** This file and the Node major: a change to either makes a new bundle. */
const FORMAT = createHash("sha256").update(readFileSync(fileURLToPath(import.meta.url))).update(process.versions.node.split(".")[0]).digest("hex").slice(0, 16);

function hashFile(path) {
  return createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 32);
}

/** The directory if it is (or can be made) this user's alone, as bin/ts-hooks.mjs asks of its cache. */
function privateDir(dir) {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    const mine = process.getuid === undefined || st.uid === process.getuid();
    return st.isDirectory() && mine && (st.mode & 0o077) === 0;
  } catch {
    return false;
  }
}

/** The current build, if every input is as it was when it was made. */
function current() {
  let m;
  try {
    m = JSON.parse(readFileSync(MANIFEST, "utf8"));
  } catch {
    return undefined;
  }
  if (m.format !== FORMAT) return undefined;
  try {
    for (const [file, hash] of Object.entries(m.inputs)) if (hashFile(join(ROOT, file)) !== hash) return undefined;
    if (typeof m.outputs !== "object" || m.outputs === null || Object.keys(m.outputs).length === 0) return undefined;
    for (const [file, hash] of Object.entries(m.outputs)) if (hashFile(join(DIR, m.build, file)) !== hash) return undefined;
  } catch {
    return undefined; // an input is gone
  }
  return m;
}

async function build() {
  const esbuild = await import("esbuild");
  const id = `b-${Date.now().toString(36)}-${process.pid}`;
  const out = join(DIR, id);
  const plugin = {
    name: "solo-cli",
    setup(b) {
      // Other verbs' modules (and with them the host, gRPC, RocksDB) load from source.
      b.onResolve({ filter: /\.ts$/ }, (args) => {
        if (args.kind !== "dynamic-import" || relative(ROOT, args.importer) !== ENTRIES.index || BUNDLED_VERBS.has(args.path)) return undefined;
        return { path: pathToFileURL(resolve(dirname(args.importer), args.path)).href, external: true };
      });
      // Each module's `import.meta.url` (the expression, never text inside a string) becomes its
      // source file's URL, so paths relative to the module stay right in the bundle.
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const source = readFileSync(args.path, "utf8");
        const out = await esbuild.transform(source, { loader: "ts", format: "esm", target: "node20", sourcefile: args.path, define: { "import.meta.url": JSON.stringify(pathToFileURL(args.path).href) } });
        return { contents: out.code, loader: "js" };
      });
    },
  };
  const result = await esbuild.build({
    absWorkingDir: ROOT, entryPoints: ENTRIES, outdir: out, bundle: true, splitting: true, format: "esm", platform: "node",
    target: "node20", packages: "external", metafile: true, write: true, logLevel: "silent", plugins: [plugin],
  });
  const inputs = {};
  for (const file of Object.keys(result.metafile.inputs)) if (!file.includes(":")) inputs[file] = hashFile(join(ROOT, file));
  const outputs = {};
  for (const file of Object.keys(result.metafile.outputs)) outputs[relative(out, join(ROOT, file))] = hashFile(join(ROOT, file));
  const manifest = { format: FORMAT, build: id, inputs, outputs };
  const tmp = `${MANIFEST}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(manifest));
  renameSync(tmp, MANIFEST);
  prune(id);
  return manifest;
}

function prune(keep) {
  try {
    for (const name of readdirSync(DIR)) {
      if (!name.startsWith("b-") || name === keep) continue;
      const path = join(DIR, name);
      if (Date.now() - statSync(path).mtimeMs > KEEP_OLD_MS) rmSync(path, { recursive: true, force: true });
    }
  } catch {
    // Old builds only take room.
  }
}

/** URLs of the prebuilt CLI and guest worker (made or remade now if needed), or undefined. */
export async function prebuilt() {
  try {
    if (!privateDir(DIR)) return undefined;
    const m = current() ?? (await build());
    const at = join(DIR, m.build);
    return { index: pathToFileURL(join(at, "index.js")), worker: pathToFileURL(join(at, "worker.js")) };
  } catch {
    return undefined;
  }
}
