// Running the real `solo` command in tests: one-shot verbs, and `solo start` as a server process
// read through its ready line.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";

export const SOLO = join(ROOT, "bin", "solo.mjs");

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `solo ARGS`; `input` is written to its standard input (else stdin is empty). */
export function solo(args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<Result> {
  return node([SOLO, ...args], options);
}

/** Runs `node ARGS` (this Node) to its end, as solo() does; e.g. `node --test` in a generated folder. */
export function node(args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env } });
    child.stdin.end(options.input ?? "");
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export interface Started {
  child: ChildProcess;
  /** The parsed ready line. */
  ready: { ready: boolean; grpc: string; http: string; dataDir: string };
  stdout(): string;
  stderr(): string;
  /** Sends the signal and answers the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns `solo start ARGS` and waits for its ready line (or its exit, which fails the test).
 * `command`: how it is run, `node bin/solo.mjs` unless given (e.g. the file itself, as an
 * installed `solo` runs, or `npm start --`).
 */
export function startSolo(args: string[], env: Record<string, string> = {}, command: string[] = [process.execPath, SOLO, "start"]): Promise<Started> {
  const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      const first = stdout === "" || !stdout.includes("\n");
      stdout += d;
      if (first && stdout.includes("\n")) {
        resolve({
          child,
          ready: JSON.parse(stdout.slice(0, stdout.indexOf("\n"))),
          stdout: () => stdout,
          stderr: () => stderr,
          stop(signal = "SIGTERM") {
            child.kill(signal);
            return exited;
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`solo start exited (${code}) before its ready line: ${stderr}`)));
  });
}
