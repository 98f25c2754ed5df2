// What every verb shares: the exit codes, how a failure is printed (one JSON line on stdout with
// --json, `CODE: message` on stderr without), and the small parsers for flag values. Light on
// purpose: importing it must not load the host or a transport.
import { readFileSync } from "node:fs";
import { SoloError, toSoloError } from "../errors.ts";

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const EXIT_CODES_HELP = `
exit codes:
  0  success
  1  a Solo error: CODE: message on stderr, or {"error":{"code","message","details"}} on stdout with --json
  2  a usage error (unknown command or flag, a bad flag value; the command's help follows on
     stderr), or a file that cannot be read (one line naming it)`;

/** A bad command line: exit 2 with the command's help. */
export class UsageError extends Error {}

/**
 * A file named on the command line that cannot be read: exit 2 like a usage error, but one line
 * naming the file (`NOT_FOUND: cannot read x.ts: no such file`), or its JSON line with --json;
 * no help, which would bury the one line that matters.
 */
export class FileError extends SoloError {}

const FILE_PROBLEMS: Record<string, string> = { ENOENT: "no such file", EISDIR: "it is a directory", EACCES: "permission denied", ENOTDIR: "a part of the path is not a directory" };

/** A file the user named (a source, --input-file, a key file); a FileError when it cannot be read. */
export function readLocalFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new FileError(code === "ENOENT" ? "NOT_FOUND" : "INVALID_ARGUMENT", `cannot read ${file}: ${FILE_PROBLEMS[code] ?? (err as Error).message}`, { file });
  }
}

/** Prints a failure as the output contract says and answers exit code 1. */
export function printFailure(err: unknown, json: boolean): number {
  const e = toSoloError(err);
  if (json) {
    process.stdout.write(JSON.stringify({ error: e.toJSON() }) + "\n");
    return EXIT.failed;
  }
  process.stderr.write(`${e.code}: ${e.message}\n`);
  // The first diagnostic is already in the message; the rest follow, one a line.
  const diagnostics = (e.details?.diagnostics ?? []) as { file: string; line: number; column: number; message: string }[];
  if (Array.isArray(diagnostics)) for (const d of diagnostics.slice(1)) process.stderr.write(`  ${d.file}:${d.line}:${d.column}: ${d.message}\n`);
  return EXIT.failed;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + "\n");
}

/**
 * Prints each item of a stream (one JSON line each with --json, else `text(item)`) until it ends.
 * Ctrl-C (or SIGTERM) closes a followed stream cleanly: exit 0 after what was printed so far.
 */
export async function printStream<T>(stream: AsyncIterable<T> & { close(): void }, json: boolean | undefined, text: (item: T) => string): Promise<number> {
  const stop = () => stream.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    for await (const item of stream) process.stdout.write(json ? JSON.stringify(item) + "\n" : text(item));
    return EXIT.ok;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) throw new UsageError(`--${flag} must be a positive whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** A comma-separated list; empty entries dropped. */
export function list(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: 500ms, 30s, 10m, 2h, 7d, or bare digits as milliseconds. */
export function durationMs(flag: string, value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  const n = m ? Number(m[1]) * UNIT_MS[m[2] ?? "ms"]! : NaN;
  if (!m || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${flag} must be a duration such as 30s, 10m, 2h, 7d or 500ms; got ${JSON.stringify(value)}`);
  return n;
}

/** HOST:PORT with a port from 0 to 65535 (0: any free port, for listeners). */
export function hostPort(flag: string, value: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`--${flag} must be HOST:PORT (e.g. 127.0.0.1:50051), got ${JSON.stringify(value)}`);
  return value;
}

export { SoloError };

/** `name=value` pairs of quotas (repeatable flag or arguments), e.g. memoryBytes=1073741824. */
export function quotaPairs(flag: string, pairs: string[] | undefined): Record<string, number> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const m = /^([A-Za-z]+)=(\d{1,16})$/.exec(pair.trim());
    if (!m) throw new UsageError(`--${flag} takes NAME=NUMBER (e.g. memoryBytes=1073741824, services=50, fuelPerSecond=1000000000); got ${JSON.stringify(pair)}`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}
