// `solo run` and `solo validate`: no server, no token, never ./data. run opens a Host on a scratch
// directory (the operator, in-process), deploys the file as run/main, calls it once, and removes
// the directory; compiled artifacts are kept in the user's cache (cacheDir()).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { LANGUAGES, languageOf, type Language } from "../compile/languages.ts";
import { isCoreModule } from "../wasm/binary.ts";
import { DEFAULT_LIMITS } from "../services/limits.ts";
import { EXIT, UsageError, positiveInt, printFailure, printJson } from "./common.ts";

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
runs handle(input) once in a fresh sandbox, and prints the output. Never opens ./data and needs
no server; compiled artifacts are cached in ${cacheDir()}.

defaults: --fuel ${DEFAULT_LIMITS.fuel}  --memory ${DEFAULT_LIMITS.memoryBytes}  --deadline ${DEFAULT_LIMITS.deadlineMs} (ms)  --input ""

output: the guest's output on stdout; its logs and any error (CODE: message) on stderr.
  --json prints exactly one line: {"output","fuel","memoryBytes"} or {"error":{"code","message","details"}}`;

export interface RunOptions {
  lang?: string;
  input?: string;
  inputFile?: string;
  fuel?: string;
  memory?: string;
  deadline?: string;
  json?: boolean;
}

export async function run(file: string, o: RunOptions): Promise<number> {
  if (o.input !== undefined && o.inputFile !== undefined) throw new UsageError("give --input or --input-file, not both");
  let language = languageFlag(o.lang, file);
  const limits = {
    ...(o.fuel !== undefined && { fuel: positiveInt("fuel", o.fuel) }),
    ...(o.memory !== undefined && { memoryBytes: positiveInt("memory", o.memory) }),
    ...(o.deadline !== undefined && { deadlineMs: positiveInt("deadline", o.deadline) }),
  };
  const json = o.json === true;
  let source: string | Uint8Array;
  let input: string;
  try {
    const bytes = readFileSync(file);
    source = language === "component" || language === "javy" ? new Uint8Array(bytes) : bytes.toString("utf8");
    // A .wasm that is a core module (not a component) is a Javy-style WASI command.
    if (o.lang === undefined && language === "component" && isCoreModule(source as Uint8Array)) language = "javy";
    input = o.inputFile !== undefined ? readFileSync(o.inputFile, "utf8") : (o.input ?? "");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  // The host is loaded only here: `solo --help` and usage errors stay fast.
  const { Host } = await import("../host.ts");
  const scratch = mkdtempSync(join(tmpdir(), "solo-run-"));
  let host: Awaited<ReturnType<typeof Host.open>> | undefined;
  try {
    host = await Host.open({ dataDir: scratch, cacheDir: cacheDir(), workers: 1, onLog: (l) => process.stderr.write(`[${l.level}] ${l.message}\n`) });
    await host.deploy({ tenant: "run", service: "main", source, language, file: basename(file), limits });
    const reply = await host.call("run", "main", input);
    if (json) printJson({ output: reply.output, fuel: reply.fuel, memoryBytes: reply.memoryBytes });
    else process.stdout.write(reply.output + "\n");
    return EXIT.ok;
  } catch (err) {
    return printFailure(err, json);
  } finally {
    await host?.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

export async function validate(file: string, o: { lang?: string; json?: boolean }): Promise<number> {
  const language = languageFlag(o.lang, file);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  // The source rules, and for TypeScript the type check (it loads the checker: ~1 s the first time;
  // SOLO_TYPECHECK=error makes its findings errors).
  const { validateGuest, checkTypeCheckMode } = await import("../validate/index.ts");
  const typeCheck = checkTypeCheckMode(process.env.SOLO_TYPECHECK, "SOLO_TYPECHECK");
  const report = validateGuest({ source: bytes, language, maxSourceBytes: DEFAULT_LIMITS.maxSourceBytes, file: basename(file), ...(typeCheck && { typeCheck }) });
  if (o.json) printJson(report);
  else {
    for (const f of report.findings) process.stdout.write(`${basename(file)}:${f.line}:${f.column}: ${f.severity} ${f.rule}${f.code && f.code !== "contract" ? ` ${f.code}` : ""}: ${f.message}\n`);
    if (report.findings.length === 0) process.stdout.write(`${basename(file)}: no findings\n`);
  }
  return report.ok ? EXIT.ok : EXIT.failed;
}
