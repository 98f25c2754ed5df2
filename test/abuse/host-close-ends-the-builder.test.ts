// The builder process lives as long as its host (builderIdleMs 0): Host.close kills it, and a
// process that opened a host and closed it exits by itself (nothing of the builder keeps it
// alive). A builder kept idle for another host (builderIdleMs) holds the process no longer either.
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, test } from "../helpers.ts";

/** Runs host-close-ends-the-builder.ts, which must exit by itself; the builders it saw. */
async function run(...args: string[]): Promise<{ running: number[]; alive: number[] }> {
  const child = spawn(process.execPath, ["--import", join(ROOT, "bin", "ts-register.mjs"), join(ROOT, "test", "abuse", "host-close-ends-the-builder.ts"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  // Only a hang guard: a process that does not exit fails here instead of stalling the run.
  const guard = setTimeout(() => child.kill("SIGKILL"), 180_000);
  const exit = await new Promise<[number | null, string | null]>((resolve) => child.on("exit", (c, s) => resolve([c, s])));
  clearTimeout(guard);
  assert.equal(exit, [0, null], "the process exited by itself");
  return JSON.parse(out) as { running: number[]; alive: number[] };
}

test("after Host.close the builder process is gone and the process that opened the host exits", async () => {
  const seen = await run();
  assert.is(seen.running.length, 1, "one builder process ran the build");
  assert.equal(seen.alive, [], "and it was gone once close returned");
});

test("a process that closes a host whose builder is kept idle still exits by itself, ending the builder first", async () => {
  const seen = await run("keep");
  assert.is(seen.running.length, 1, "one builder process ran the build");
  assert.equal(seen.alive, seen.running, "it was kept idle after close");
  assert.not.ok(existsSync(`/proc/${seen.running[0]}`), "and it was ended and reaped before that process exited");
});

test.run();
