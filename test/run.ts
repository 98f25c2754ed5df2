// Runs every test/**/*.test.ts in its own Node process (one more at a time than there are cores), then prints one plain
// line "N passed, N failed" for CI. A file counts as failed when it crashes before uvu's summary,
// exits non-zero after it, or runs past SOLO_TEST_TIMEOUT_MS (default 300 s): then its whole
// process tree is killed, so one hung file cannot hang CI.
// SOLO_TEST_DIR runs the *.test.ts files of another directory (the runner's own test uses it);
// the type check runs only for the project's own full run.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const testDir = process.env.SOLO_TEST_DIR ? resolve(process.env.SOLO_TEST_DIR) : join(root, "test");
const timeoutMs = Number(process.env.SOLO_TEST_TIMEOUT_MS ?? 300_000);
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
  process.stderr.write(`SOLO_TEST_TIMEOUT_MS must be a positive number of milliseconds, not "${process.env.SOLO_TEST_TIMEOUT_MS}"\n`);
  process.exit(2);
}
const filter = process.argv.slice(2);
const files = readdirSync(testDir, { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => join(testDir, f))
  .filter((f) => filter.length === 0 || filter.some((p) => f.includes(p)))
  .sort();

interface Outcome { file: string; passed: number; failed: number; output: string; ms: number; cpuMs?: number; note?: string }

/**
 * CPU time (user + system, ms) of this runner's reaped children and what they reaped (Linux
 * /proc; elsewhere 0). Read at each child's exit, the difference is that file's CPU: the figure
 * that decides the suite's time on two cores, where wall time depends on what ran beside it.
 */
function reapedCpuMs(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) * 10; // cutime, cstime in ticks of 10 ms (USER_HZ 100)
  } catch {
    return 0;
  }
}
let lastReapedCpuMs = reapedCpuMs();

/** Children still running, each the leader of its own process group (killed as a group). */
const running = new Set<ChildProcess>();

/** Every process below `pid` (Linux /proc; elsewhere none are found and the group kill must do). */
function descendants(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const e of entries) {
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
    } catch {
      // The process ended while we looked.
    }
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    for (const c of children.get(queue.pop()!) ?? []) {
      found.push(c);
      queue.push(c);
    }
  }
  return found;
}

/**
 * SIGKILL the child's process group and, while the child lives, any descendant that left the
 * group (setsid, detached spawns). Once the child is reaped its pid may be reused, so only
 * its group (which lives on while a member does) is a safe target.
 */
function killTree(child: ChildProcess, reaped = false): void {
  if (child.pid === undefined) return;
  const targets = reaped ? [-child.pid] : [-child.pid, child.pid, ...descendants(child.pid)];
  for (const target of targets) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    // Children are in their own process groups, so the terminal's Ctrl-C does not reach them.
    for (const child of running) killTree(child, child.exitCode !== null || child.signalCode !== null);
    process.exit(130);
  });
}

function runFile(file: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", join(root, "bin", "ts-register.mjs"), file], {
      cwd: root,
      // A closed host's idle builder serves the next host the file opens (HostOptions.builderIdleMs):
      // most files open several, and each builder's first build warms a compiler (~3.5-6 s of CPU).
      env: { SOLO_BUILDER_IDLE_MS: "10000", ...process.env, FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group: one kill reaches workers' helpers and subprocesses
    });
    running.add(child);
    let output = "";
    let timedOut = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let cpuMs = 0;
    child.stdout!.on("data", (d) => (output += d));
    child.stderr!.on("data", (d) => (output += d));
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child);
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      const now = reapedCpuMs();
      cpuMs = now - lastReapedCpuMs;
      lastReapedCpuMs = now;
      // Whatever the file left running would hold its pipes open and stall "close".
      killTree(child, true);
    });
    child.on("close", () => {
      clearTimeout(timer);
      running.delete(child);
      const ms = Date.now() - started;
      if (timedOut) {
        resolve({ file, passed: 0, failed: 1, output, ms, note: `timed out after ${timeoutMs / 1000} s` });
        return;
      }
      const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
      const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
      const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
      const exit = exitSignal ? `killed by ${exitSignal}` : `exited with code ${exitCode}`;
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        resolve({ file, passed: 0, failed: 1, output, ms, cpuMs, note: `${exit} before uvu's summary` });
      } else if (exitCode !== 0 && total === passed) {
        // Every test passed, yet the process failed (a crash after the summary, a leaked rejection).
        resolve({ file, passed, failed: 1, output, ms, cpuMs, note: `${exit} after its summary` });
      } else {
        resolve({ file, passed, failed: total - passed, output, ms, cpuMs });
      }
    });
  });
}

/** A path under the project as test/x.test.ts; anything else as given. */
function shown(file: string): string {
  const r = relative(root, file);
  return r.startsWith("..") || isAbsolute(r) ? file : r;
}

const outcomes: Outcome[] = [];
process.stdout.write(`Node ${process.version} (V8 ${process.versions.v8}), ${files.length} test files\n`);

// The type check counts as one test: a type error fails the run like a failing assertion.
if (filter.length === 0 && !process.env.SOLO_TEST_DIR) {
  const started = Date.now();
  const tsc = await new Promise<Outcome>((resolve) => {
    const child = spawn(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], { cwd: root });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => resolve({ file: "typecheck (tsc)", passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, output, ms: Date.now() - started }));
  });
  outcomes.push(tsc);
  process.stdout.write(`${tsc.failed ? "FAIL" : "ok  "} typecheck (${(tsc.ms / 1000).toFixed(1)} s)\n`);
  if (tsc.failed) process.stdout.write(tsc.output.replace(/^/gm, "     | ") + "\n");
}

// The files that take longest start first, so none of them starts last and runs alone while the
// other lane is idle (the list is a hint: a file missing from it runs in name order after them).
const LONGEST_FIRST = [
  "swap/a-sigkill-during-swaps-leaves-one-version", "cli/solo-client", "artifact/a-known-source-deploys-without-the-builder",
  "fuzz/random-sources-end-in-a-result-or-a-solo-error", "cli/solo-swap", "cli/solo-dev-swaps-on-save",
  "abuse/compiler-crash-fails-only-that-deploy", "abuse/top-level-allocation-stops-at-the-build-memory-limit",
  "artifact/same-source-compiles-once", "guests/typescript-guests-run-without-generated-javascript", "cli/solo-run.test",
  "validate/type-checks-typescript-guests", "cli/solo-cli-basics", "cli/solo-secret", "events/sigkill-loses-nothing-acknowledged",
  "scale/ten-thousand-echo-services", "abuse/endless-top-level-code-stops-at-the-build-timeout",
];
const rank = (f: string) => {
  const i = LONGEST_FIRST.findIndex((p) => f.includes(p));
  return i < 0 ? LONGEST_FIRST.length : i;
};
// The type check's CPU is its own: the first test file to exit must not be charged with it.
lastReapedCpuMs = reapedCpuMs();
const queue = [...files].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
// One file more than there are cores: a file waiting on a timeout, a subprocess or the disk leaves
// its core to the extra one (on 2 cores the suite's files use ~1.8 of them two at a time).
const lanes = Math.max(1, Math.min(Number(process.env.SOLO_TEST_JOBS ?? availableParallelism() + 1), 4));
await Promise.all(
  Array.from({ length: lanes }, async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const o = await runFile(file);
      outcomes.push(o);
      if (o.note?.startsWith("timed out")) process.stdout.write(`FAIL ${shown(file)}: ${o.note}\n`);
      else {
        const mark = o.failed === 0 ? "ok  " : "FAIL";
        const note = o.note ? `, ${o.note}` : "";
        process.stdout.write(`${mark} ${shown(file)} (${o.passed} passed, ${o.failed} failed, ${(o.ms / 1000).toFixed(1)} s, cpu ${((o.cpuMs ?? 0) / 1000).toFixed(1)} s${note})\n`);
      }
      if (o.failed > 0) process.stdout.write(o.output.replace(/^/gm, "     | ") + "\n");
    }
  }),
);
const passed = outcomes.reduce((n, o) => n + o.passed, 0);
const failed = outcomes.reduce((n, o) => n + o.failed, 0);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
