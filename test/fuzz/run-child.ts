// Runs a fuzz campaign (test/fuzz/child.ts) in its own Node process. The process must end by
// itself once the campaign has closed its host: a worker, timer or port left behind keeps it
// alive, and that is reported as a leak. A campaign silent for longer than its bound (no output:
// each case announces itself) is killed and reported as hung; a slow machine only makes it slower.
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
  /** Killed after a silence longer than the bound, before it printed its summary. */
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
    const onSilence = () => {
      hung = summary === undefined;
      child.kill("SIGKILL");
    };
    let bound = setTimeout(onSilence, options.boundMs);
    const onData = (d: Buffer) => {
      output += d;
      if (!summary) {
        clearTimeout(bound);
        bound = setTimeout(onSilence, options.boundMs);
      }
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

/** A campaign's failure in readable form: what went wrong, the shrunk case, the reproducer. */
export function describeSummary(s: ChildSummary): string {
  const failures = (s.failures ?? []) as { error: string; language?: string; wat?: string; base64?: string; source?: string; kind?: string }[];
  const lines = [`FUZZ_SEED=${s.seed}`, String(s.error ?? ""), JSON.stringify(s.tally), JSON.stringify({ escaped: s.escaped, resources: s.resources })];
  for (const f of failures) {
    lines.push(`--- ${f.kind ?? ""} ${f.language ?? ""}: ${f.error}`);
    lines.push(f.wat ? f.wat.slice(0, 3000) : f.source !== undefined ? f.source.slice(0, 3000) : `base64 ${String(f.base64).slice(0, 2000)}`);
  }
  return lines.join("\n");
}

/** The checks every campaign's run must pass; throws an assertion naming the first that fails. */
export function checkRun(run: ChildRun, assert: { ok(v: unknown, msg?: string): void; equal(a: unknown, b: unknown, msg?: string): void; is(a: unknown, b: unknown, msg?: string): void }): ChildSummary {
  const s = run.summary;
  const show = () => (s ? describeSummary(s) : run.output.slice(-8_000));
  assert.ok(!run.hung, `the campaign hung (silent past the bound); its last lines:\n${run.output.slice(-3_000)}`);
  assert.ok(s, `the campaign printed no summary (crashed?):\n${show()}`);
  assert.ok(!run.leaked, `the process did not exit after the host closed (a worker, process or handle leaked):\n${show()}`);
  assert.equal(s!.escaped, [], "no unhandled rejection or uncaught exception");
  assert.equal(s!.resources, [], "nothing left active after host.close()");
  assert.is(s!.neighbourAnswers, true, "the other tenant's service still answers");
  assert.ok(s!.ok, `a case failed:\n${show()}`);
  assert.is(run.exitCode, 0);
  return s!;
}
