// `solo ... | head`: the reader closes the pipe before the command has written all it had. The
// command ends with 0 and nothing on stderr, not an EPIPE stack trace.
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { ROOT, test } from "../helpers.ts";
import { SOLO } from "./spawn.ts";

/** Runs `solo ARGS` with its stdout pipe closed before the command writes; its exit code and stderr. */
function withClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SOLO, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // the reader is gone at once: the first write meets EPIPE
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

test("--help and --version into a closed pipe end with 0 and nothing on stderr", async () => {
  for (const args of [["--help"], ["--version"], ["token", "--help"]]) {
    const r = await withClosedStdout(args);
    assert.is(r.stderr, "", `solo ${args.join(" ")}: stderr`);
    assert.is(r.code, 0, `solo ${args.join(" ")}: exit code`);
  }
});

test.run();
