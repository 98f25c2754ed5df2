// The builder process lives as long as its host (builderIdleMs 0): Host.close kills it, and a process that opened
// a host and closed it exits by itself (nothing of the builder keeps it alive).
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, test } from "../helpers.ts";

test("after Host.close the builder process is gone and the process that opened the host exits", async () => {
  const child = spawn(process.execPath, ["--import", join(ROOT, "bin", "ts-register.mjs"), join(ROOT, "test", "abuse", "host-close-ends-the-builder.ts")], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  // Only a hang guard: a process that does not exit fails here instead of stalling the run.
  const guard = setTimeout(() => child.kill("SIGKILL"), 180_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on("exit", (c, s) => resolve([c, s])));
  clearTimeout(guard);
  assert.equal([code, signal], [0, null], "the process exited by itself");
  const seen = JSON.parse(out) as { running: number[]; alive: number[] };
  assert.is(seen.running.length, 1, "one builder process ran the build");
  assert.equal(seen.alive, [], "and it was gone once close returned");
});

test.run();
