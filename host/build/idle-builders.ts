// Builder processes a closed host left behind idle, for the next Builder of this Node process to
// take (HostOptions.builderIdleMs; off by default: close ends the builder). A builder's first
// build pays for loading and warming its compilers: ~6 s of CPU for AssemblyScript (asc and
// binaryen), ~3.5 s for TypeScript; a taken one has paid already. Only a process that answered
// its last job (was not stopped at a limit, did not crash) is kept, and only for a Builder that
// would fork the same one: the same flags and the same environment (JAVY_PATH and PATH decide
// which javy it runs).
import { createHash } from "node:crypto";
import type { ChildProcess } from "node:child_process";

/** At most this many are kept at once; more would only hold memory. */
const MAX_IDLE = 2;

interface Idle {
  child: ChildProcess;
  key: string;
  timer: NodeJS.Timeout;
  onExit: () => void;
}

const idle: Idle[] = [];
let endAtExit = false;

/** What must match for a kept process to serve a new Builder: its flags and the environment it inherited. */
export function builderKey(execArgv: readonly string[]): string {
  const env = Object.entries(process.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(JSON.stringify([execArgv, env])).digest("hex");
}

/**
 * Keeps `child` (idle: its last job answered, nothing of its owner listening) for up to `ms`,
 * then kills it. It does not hold this process open, and what it writes meanwhile is read and
 * dropped, so it never blocks on a full pipe.
 */
export function keepIdle(child: ChildProcess, key: string, ms: number, kill: (child: ChildProcess) => void): void {
  const entry: Idle = { child, key, timer: setTimeout(() => drop(entry, kill), ms), onExit: () => drop(entry) };
  entry.timer.unref();
  child.once("exit", entry.onExit);
  child.on("error", discard);
  child.stdout?.on("data", discard);
  child.stderr?.on("data", discard);
  for (const h of [child, child.channel, child.stdout, child.stderr] as ({ unref?(): void } | null | undefined)[]) h?.unref?.();
  idle.push(entry);
  while (idle.length > MAX_IDLE) drop(idle[0]!, kill);
  if (!endAtExit) {
    endAtExit = true;
    // When this process has nothing left to do, the kept ones are killed and waited for, so none
    // outlives it (one would end by itself once its channel closed, reaped by whoever adopts it).
    process.on("beforeExit", () => {
      for (const e of [...idle]) {
        e.child.ref(); // this process waits for its exit
        drop(e, kill);
      }
    });
  }
}

/** A kept process for `key`, still alive and connected, out of the pool; undefined if there is none. */
export function takeIdle(key: string): ChildProcess | undefined {
  for (const e of idle.filter((e) => e.key === key)) {
    const usable = e.child.exitCode === null && e.child.signalCode === null && e.child.connected;
    drop(e, usable ? undefined : (c) => c.kill("SIGKILL"));
    if (usable) return e.child;
  }
  return undefined;
}

function drop(e: Idle, kill?: (child: ChildProcess) => void) {
  const i = idle.indexOf(e);
  if (i < 0) return;
  idle.splice(i, 1);
  clearTimeout(e.timer);
  e.child.removeListener("exit", e.onExit);
  e.child.removeListener("error", discard);
  e.child.stdout?.removeListener("data", discard);
  e.child.stderr?.removeListener("data", discard);
  kill?.(e.child);
}

function discard() {}
