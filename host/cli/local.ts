// `solo run` and `solo validate`: no server, no token, never ./data. run builds the file (or reads
// its build back from the user's cache, cacheDir()) and runs it on one worker thread without a
// Host (local-runner.ts); validate loads only host/validate. Both are light to import: the
// network verbs import languageFlag from here.
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { LANGUAGES, languageOf, type Language } from "../compile/languages.ts";
import { isCoreModule } from "../wasm/binary.ts";
import { DEFAULT_LIMITS } from "../services/limits.ts";
import { EXIT, UsageError, positiveInt, printFailure, printJson, readLocalFile } from "./common.ts";
import type { CallResult } from "../runtime/protocol.ts";

export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "solo");
}

export function languageFlag(lang: string | undefined, file: string): Language {
  if (lang !== undefined && !(LANGUAGES as readonly string[]).includes(lang)) throw new UsageError(`--lang must be one of ${LANGUAGES.join(", ")}`);
  const language = (lang as Language | undefined) ?? languageOf(file);
  if (!language) throw new UsageError(`cannot tell the language of ${file} (.as.ts, .ts, .js, .mjs, .wasm); pass --lang`);
  return language;
}

export const RUN_HELP = `
Compiles <file> (.as.ts AssemblyScript, .ts TypeScript, .js/.mjs JavaScript, .wasm component),
runs handle(input) in a sandbox of its own, and prints the output. Never opens ./data and needs
no server; compiled artifacts are cached in ${cacheDir()}, and a file built before runs
without starting the compiler.

defaults: --fuel ${DEFAULT_LIMITS.fuel}  --memory ${DEFAULT_LIMITS.memoryBytes}  --deadline ${DEFAULT_LIMITS.deadlineMs} (ms)  --input ""

requests: --input or --input-file for one; with --stdin, or when neither is given and standard
  input is not a terminal, each line of standard input is a request, run in order against one
  instance (its kv carries from one to the next); no lines at all run one empty request. In a
  script whose standard input is not meant for the guest, give --input "" (or </dev/null).
state: kv starts empty and is dropped at exit; --data DIR keeps it between runs (RocksDB in
  DIR/run, one store per file name without extensions: counter.as.ts -> counter).

output: one line per request on stdout: the guest's output (an empty line for a failed
  request); its logs and any error (CODE: message) on stderr.
  --json prints exactly one line per request: {"output","fuel","memoryBytes"} or {"error":{"code","message","details"}}.
  Exit 1 if any request failed.`;

export interface RunOptions {
  lang?: string;
  input?: string;
  inputFile?: string;
  stdin?: boolean;
  data?: string;
  fuel?: string;
  memory?: string;
  deadline?: string;
  json?: boolean;
}

/** How `solo run` was started: bin/solo.mjs passes the worker entry of its prebuilt copy. */
export interface RunContext {
  workerEntry?: URL;
}

export async function run(file: string, o: RunOptions, ctx: RunContext = {}): Promise<number> {
  if (o.input !== undefined && o.inputFile !== undefined) throw new UsageError("give --input or --input-file, not both");
  if (o.stdin && (o.input !== undefined || o.inputFile !== undefined)) throw new UsageError("--stdin reads the requests from standard input: leave out --input and --input-file");
  const limits = {
    ...(o.fuel !== undefined && { fuel: positiveInt("fuel", o.fuel) }),
    ...(o.memory !== undefined && { memoryBytes: positiveInt("memory", o.memory) }),
    ...(o.deadline !== undefined && { deadlineMs: positiveInt("deadline", o.deadline) }),
  };
  const bytes = readLocalFile(file);
  let language = languageFlag(o.lang, file);
  const json = o.json === true;
  const source: string | Uint8Array = language === "component" || language === "javy" ? new Uint8Array(bytes) : bytes.toString("utf8");
  // A .wasm that is a core module (not a component) is a Javy-style WASI command.
  if (o.lang === undefined && language === "component" && isCoreModule(source as Uint8Array)) language = "javy";
  const single = o.inputFile !== undefined ? readLocalFile(o.inputFile).toString("utf8") : o.input;
  const fromStdin = o.stdin === true || (single === undefined && !process.stdin.isTTY);

  const { LocalRun } = await import("./local-runner.ts");
  let runner: Awaited<ReturnType<typeof LocalRun.open>>;
  try {
    runner = await LocalRun.open({
      language, source, file: basename(file), service: basename(file).replace(/\..*$/, ""), limits, cacheDir: cacheDir(),
      ...(o.data !== undefined && { dataDir: join(o.data, "run") }), ...(ctx.workerEntry && { workerEntry: ctx.workerEntry }),
    });
  } catch (err) {
    return printFailure(err, json);
  }
  let failed = false;
  const one = async (request: string) => {
    const r = await runner.call(request);
    if (!print(r, json)) failed = true;
  };
  try {
    if (!fromStdin) await one(single ?? "");
    else {
      let lines = 0;
      // One line at a time, each answered before the next is read: a caller may hold a pipe open
      // and talk to the instance.
      const { createInterface } = await import("node:readline");
      for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        lines++;
        await one(line);
      }
      if (lines === 0) await one("");
    }
  } catch (err) {
    failed = true;
    printFailure(err, json);
  } finally {
    await runner.close();
  }
  return failed ? EXIT.failed : EXIT.ok;
}

/** Prints one call's logs, then its answer; false when it failed. */
function print(r: CallResult, json: boolean): boolean {
  for (const [level, message] of r.logs ?? []) process.stderr.write(`[${level}] ${message}\n`);
  if (r.error) {
    if (json) printJson({ error: r.error });
    else {
      process.stderr.write(`${r.error.code}: ${r.error.message}\n`);
      process.stdout.write("\n"); // the Nth line still answers the Nth request
    }
    return false;
  }
  if (json) printJson({ output: r.output ?? "", fuel: r.fuel, memoryBytes: r.memoryBytes });
  else process.stdout.write((r.output ?? "") + "\n");
  return true;
}

export async function validate(file: string, o: { lang?: string; json?: boolean; types?: string }): Promise<number> {
  const bytes = new Uint8Array(readLocalFile(file));
  const language = languageFlag(o.lang, file);
  // The source rules, and for TypeScript the type check (it loads the checker: ~1 s the first time;
  // SOLO_TYPECHECK=error makes its findings errors).
  const { validateGuest, checkTypeCheckMode } = await import("../validate/index.ts");
  // --types (SOLO_TYPES) wins over SOLO_TYPECHECK, the server's setting.
  if (o.types !== undefined && !["warning", "error", "off"].includes(o.types)) throw new UsageError(`--types must be warning, error or off, not ${JSON.stringify(o.types)}`);
  const typeCheck = o.types === "off" ? "off" : checkTypeCheckMode(o.types ?? process.env.SOLO_TYPECHECK, o.types === undefined ? "SOLO_TYPECHECK" : "--types");
  const report = validateGuest({ source: bytes, language, maxSourceBytes: DEFAULT_LIMITS.maxSourceBytes, file: basename(file), ...(typeCheck && { typeCheck }) });
  if (o.json) printJson(report);
  else {
    for (const f of report.findings) process.stdout.write(`${basename(file)}:${f.line}:${f.column}: ${f.severity} ${f.rule}${f.code && f.code !== "contract" ? ` ${f.code}` : ""}: ${f.message}\n`);
    if (report.findings.length === 0) process.stdout.write(`${basename(file)}: no findings\n`);
  }
  return report.ok ? EXIT.ok : EXIT.failed;
}
