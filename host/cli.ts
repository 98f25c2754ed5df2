// The `solo` command: `solo start` runs the host on ./data; `solo run <file>` compiles and runs
// one guest once, with no server and without touching ./data.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { isCoreModule } from "./wasm/index.ts";
import { ensureAdminToken } from "./session/index.ts";
import { Host, LANGUAGES, languageOf, SoloError, DEFAULT_LIMITS, toSoloError, validateSource, type Language } from "./index.ts";

const USAGE = `usage: solo <command>

commands:
  start [--data DIR]     run the host on DIR (default ./data) until interrupted
  run <file> [options]   compile and run one guest once, print its output
  validate <file> [--lang L] [--json]
                         check a guest's source against Solo's rules; exit 1 on an error finding
  help                   this text`;

const RUN_USAGE = `usage: solo run <file> [--lang ${LANGUAGES.join("|")}]
                [--input S | --input-file F] [--fuel N] [--memory BYTES] [--deadline MS] [--json]

Compiles <file> (.as.ts AssemblyScript, .ts TypeScript, .js/.mjs JavaScript, .wasm component),
runs handle(input) once in a fresh sandbox, and prints the output. Never opens ./data; compiled
artifacts are cached in ${cacheDir()}.

defaults: --fuel ${DEFAULT_LIMITS.fuel}  --memory ${DEFAULT_LIMITS.memoryBytes}  --deadline ${DEFAULT_LIMITS.deadlineMs} (ms)  --input ""

output: the guest's output on stdout; its logs and any error (CODE: message) on stderr.
  --json prints exactly one line: {"output","fuel","memoryBytes"} or {"error":{"code","message","details"}}
exit: 0 success, 1 a Solo error, 2 a usage error`;

class UsageError extends Error {}

function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "solo");
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "run":
        return await run(rest);
      case "start":
        return await start(rest);
      case "validate":
        return validate(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE + "\n");
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`solo: ${err.message}\n${command === "run" ? RUN_USAGE : USAGE}\n`);
      return 2;
    }
    if (err instanceof SoloError) {
      process.stderr.write(`solo: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function parse(args: string[], options: NonNullable<ParseArgsConfig["options"]>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new UsageError(`--${name} must be a positive whole number`);
  return Number(value);
}

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    lang: { type: "string" },
    input: { type: "string" },
    "input-file": { type: "string" },
    fuel: { type: "string" },
    memory: { type: "string" },
    deadline: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(RUN_USAGE + "\n");
    return 0;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError("give exactly one file to run");
  if (values.input !== undefined && values["input-file"] !== undefined) throw new UsageError("give --input or --input-file, not both");
  const lang = values.lang as string | undefined;
  if (lang !== undefined && !(LANGUAGES as readonly string[]).includes(lang)) throw new UsageError(`--lang must be one of ${LANGUAGES.join(", ")}`);
  let language = (lang as Language | undefined) ?? languageOf(file);
  if (!language) throw new UsageError(`cannot tell the language of ${file}; pass --lang`);
  const limits = {
    ...(values.fuel !== undefined && { fuel: positiveInt("fuel", values.fuel as string) }),
    ...(values.memory !== undefined && { memoryBytes: positiveInt("memory", values.memory as string) }),
    ...(values.deadline !== undefined && { deadlineMs: positiveInt("deadline", values.deadline as string) }),
  };
  const json = values.json === true;
  let source: string | Uint8Array;
  let input: string;
  try {
    const bytes = readFileSync(file);
    source = language === "component" || language === "javy" ? new Uint8Array(bytes) : bytes.toString("utf8");
    // A .wasm that is a core module (not a component) is a Javy-style WASI command.
    if (lang === undefined && language === "component" && isCoreModule(source as Uint8Array)) language = "javy";
    input = values["input-file"] !== undefined ? readFileSync(values["input-file"] as string, "utf8") : ((values.input as string | undefined) ?? "");
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  const scratch = mkdtempSync(join(tmpdir(), "solo-run-"));
  const host = await Host.open({
    dataDir: scratch,
    cacheDir: cacheDir(),
    workers: 1,
    onLog: (l) => process.stderr.write(`[${l.level}] ${l.message}\n`),
  });
  try {
    await host.deploy({ tenant: "run", service: "main", source, language, file: basename(file), limits });
    const reply = await host.call("run", "main", input);
    if (json) process.stdout.write(JSON.stringify({ output: reply.output, fuel: reply.fuel, memoryBytes: reply.memoryBytes }) + "\n");
    else process.stdout.write(reply.output + "\n");
    return 0;
  } catch (err) {
    const e = toSoloError(err);
    if (json) process.stdout.write(JSON.stringify({ error: e.toJSON() }) + "\n");
    else {
      process.stderr.write(`${e.code}: ${e.message}\n`);
      const diagnostics = (e.details?.diagnostics ?? []) as { file: string; line: number; column: number; message: string }[];
      for (const d of diagnostics.slice(1)) process.stderr.write(`  ${d.file}:${d.line}:${d.column}: ${d.message}\n`);
    }
    return 1;
  } finally {
    await host.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

function validate(args: string[]): number {
  const { values, positionals } = parse(args, { lang: { type: "string" }, json: { type: "boolean" } });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError("give exactly one file to validate");
  const lang = values.lang as string | undefined;
  if (lang !== undefined && !(LANGUAGES as readonly string[]).includes(lang)) throw new UsageError(`--lang must be one of ${LANGUAGES.join(", ")}`);
  const language = (lang as Language | undefined) ?? languageOf(file);
  if (!language) throw new UsageError(`cannot tell the language of ${file}; pass --lang`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const report = validateSource({ source: bytes, language, maxSourceBytes: DEFAULT_LIMITS.maxSourceBytes });
  if (values.json) process.stdout.write(JSON.stringify(report) + "\n");
  else {
    for (const f of report.findings) process.stdout.write(`${basename(file)}:${f.line}:${f.column}: ${f.severity} ${f.rule}: ${f.message}\n`);
    if (report.findings.length === 0) process.stdout.write(`${basename(file)}: no findings\n`);
  }
  return report.ok ? 0 : 1;
}

async function start(args: string[]): Promise<number> {
  const { values } = parse(args, { data: { type: "string" }, workers: { type: "string" } });
  const dataDir = (values.data as string | undefined) ?? "./data";
  const host = await Host.open({
    dataDir,
    workers: positiveInt("workers", values.workers as string | undefined),
    onLog: (l) => process.stderr.write(`[${l.tenant}/${l.service}] ${l.level}: ${l.message}\n`),
  });
  let admin: { path: string; created: boolean };
  try {
    admin = await ensureAdminToken(host);
  } catch (err) {
    await host.close();
    throw err;
  }
  process.stdout.write(`solo: host open on ${host.dataDir} with ${host.stats().workers} workers; the gRPC and HTTP APIs come with the API issue. Ctrl-C to stop.\n`);
  process.stdout.write(`solo: the operator's admin token is ${admin.created ? "now" : "still"} in ${admin.path} (mode 0600)\n`);
  // The host has no server of its own yet: this timer keeps the process alive until a signal.
  const keepAlive = setInterval(() => {}, 1 << 30);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  clearInterval(keepAlive);
  process.stdout.write("solo: closing\n");
  await host.close();
  return 0;
}
