// Runs a fuzz campaign (test/fuzz/child.ts) in its own Node process. The process must end by
// itself once the campaign has closed its host: a worker, timer or port left behind keeps it
// alive, and that is reported as a leak. A campaign past its bound is killed and reported as hung.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";

export interface ChildSummary {
  campaign: string;
  seed: number;
  ok: boolean;
  [key: string]: unknown;
}

export interface ChildRun {
  /** The campaign's last stdout line, parsed; undefined when it printed none. */
  summary?: ChildSummary;
  exitCode: number | null;
  /** Killed at the bound before it printed its summary. */
  hung: boolean;
  /** Printed its summary but did not exit within `exitGraceMs` after it. */
  leaked: boolean;
  output: string;
}

export function runChild(campaign: string, options: { boundMs: number; exitGraceMs?: number; env?: Record<string, string> }): Promise<ChildRun> {
  const grace = options.exitGraceMs ?? 10_000;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", join(ROOT, "bin", "ts-register.mjs"), join(ROOT, "test", "fuzz", "child.ts"), campaign], {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: "0", ...options.env },
    });
    let output = "";
    let summary: ChildSummary | undefined;
    let hung = false;
    let leaked = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const bound = setTimeout(() => {
      hung = summary === undefined;
      child.kill("SIGKILL");
    }, options.boundMs);
    const onData = (d: Buffer) => {
      output += d;
      if (!summary) {
        const line = output.split("\n").reverse().find((l) => l.startsWith("{\"campaign\""));
        if (line) {
          summary = JSON.parse(line) as ChildSummary;
          graceTimer = setTimeout(() => {
            leaked = true;
            child.kill("SIGKILL");
          }, grace);
        }
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("close", (code) => {
      clearTimeout(bound);
      clearTimeout(graceTimer);
      resolve({ summary, exitCode: code, hung, leaked, output });
    });
  });
}
