// The runner itself, on a directory of small test files made here: a file that hangs is killed
// with everything it started and counted as failed; a file that exits non-zero after uvu's
// summary, or crashes before it, is failed too; the last line is the plain total.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";

// Not from ../helpers.ts: the runner's test should not need the host to load.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const UVU = import.meta.resolve("uvu");
const ASSERT = import.meta.resolve("uvu/assert");

function runRunner(dir: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", join(ROOT, "bin", "ts-register.mjs"), join(ROOT, "test", "run.ts")], {
      cwd: ROOT,
      env: { ...process.env, SOLO_TEST_DIR: dir, SOLO_TEST_JOBS: "4", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** Alive and not a zombie (a killed orphan may wait for a reaper that never comes in a container). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && process.platform === "linux") return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("a file that hangs is killed with its whole process tree and counted as failed; the total is the last line", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-runner-"));
  const pids = join(dir, "pids.json");
  try {
    writeFileSync(join(dir, "passes.test.ts"), `
      import { test } from ${JSON.stringify(UVU)};
      import * as assert from ${JSON.stringify(ASSERT)};
      test("passes", () => assert.ok(true));
      test.run();
    `);
    // One child keeps the runner's pipe open; the other leaves the process group (setsid).
    writeFileSync(join(dir, "hangs.test.ts"), `
      import { spawn } from "node:child_process";
      import { writeFileSync } from "node:fs";
      import { test } from ${JSON.stringify(UVU)};
      const keep = ["-e", "setInterval(() => {}, 1000)"];
      const inGroup = spawn(process.execPath, keep, { stdio: "inherit" });
      const leftGroup = spawn(process.execPath, keep, { stdio: "ignore", detached: true });
      writeFileSync(${JSON.stringify(pids)}, JSON.stringify([inGroup.pid, leftGroup.pid]));
      test("never settles", () => new Promise(() => {}));
      test.run();
    `);
    writeFileSync(join(dir, "exits-3-after-summary.test.ts"), `
      import { test } from ${JSON.stringify(UVU)};
      test("passes", () => {});
      test.run();
      process.on("exit", () => { process.exitCode = 3; });
    `);
    writeFileSync(join(dir, "crashes.test.ts"), `throw new Error("before any test");\n`);

    const { code, out } = await runRunner(dir, { SOLO_TEST_TIMEOUT_MS: "12000" });
    const lines = out.trimEnd().split("\n");
    assert.ok(lines.includes(`FAIL ${join(dir, "hangs.test.ts")}: timed out after 12 s`), out);
    assert.match(out, new RegExp(`^FAIL ${join(dir, "exits-3-after-summary.test.ts")} \\(1 passed, 1 failed, [\\d.]+ s, cpu [\\d.]+ s, exited with code 3 after its summary\\)$`, "m"));
    assert.match(out, new RegExp(`^FAIL ${join(dir, "crashes.test.ts")} \\(0 passed, 1 failed, [\\d.]+ s, cpu [\\d.]+ s, exited with code 1 before uvu's summary\\)$`, "m"));
    assert.match(out, new RegExp(`^ok   ${join(dir, "passes.test.ts")} \\(1 passed, 0 failed`, "m"));
    assert.is(lines.at(-1), "2 passed, 3 failed");
    assert.is(code, 1);

    const [inGroup, leftGroup] = JSON.parse(readFileSync(pids, "utf8")) as [number, number];
    assert.is(alive(inGroup), false, "the child in the hung file's process group is gone");
    assert.is(alive(leftGroup), false, "the child that left the group is gone");
  } finally {
    // Should the runner have missed them, do not leave them behind.
    try {
      for (const pid of JSON.parse(readFileSync(pids, "utf8")) as number[]) if (alive(pid)) process.kill(pid, "SIGKILL");
    } catch {
      // No pids written.
    }
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a timeout that is not a positive number is refused before any file runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-runner-"));
  try {
    writeFileSync(join(dir, "passes.test.ts"), `import { test } from ${JSON.stringify(UVU)}; test("passes", () => {}); test.run();\n`);
    const { code, out } = await runRunner(dir, { SOLO_TEST_TIMEOUT_MS: "soon" });
    assert.is(code, 2);
    assert.match(out, `SOLO_TEST_TIMEOUT_MS must be a positive number of milliseconds, not "soon"`);
    assert.not.match(out, "passes.test.ts");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
