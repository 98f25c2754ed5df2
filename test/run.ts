// Runs every test/**/*.test.ts in its own Node process (two at a time), then prints one plain
// line "N passed, N failed" for CI. A file that crashes before uvu's summary counts as one failure.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const filter = process.argv.slice(2);
const files = readdirSync(join(root, "test"), { recursive: true })
  .map(String)
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => join(root, "test", f))
  .filter((f) => filter.length === 0 || filter.some((p) => f.includes(p)))
  .sort();

interface Outcome { file: string; passed: number; failed: number; output: string; ms: number }

function runFile(file: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", join(root, "bin", "ts-register.mjs"), file], { cwd: root, env: { ...process.env, FORCE_COLOR: "0" } });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("close", (code) => {
      const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
      const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
      const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
      if (Number.isNaN(total) || Number.isNaN(passed)) resolve({ file, passed: 0, failed: 1, output, ms: Date.now() - started });
      else resolve({ file, passed, failed: total - passed + (code !== 0 && total === passed ? 1 : 0), output, ms: Date.now() - started });
    });
  });
}

const outcomes: Outcome[] = [];

// The type check counts as one test: a type error fails the run like a failing assertion.
if (filter.length === 0) {
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

const queue = [...files];
const lanes = Math.max(1, Math.min(Number(process.env.SOLO_TEST_JOBS ?? availableParallelism()), 4));
await Promise.all(
  Array.from({ length: lanes }, async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const o = await runFile(file);
      outcomes.push(o);
      const mark = o.failed === 0 ? "ok  " : "FAIL";
      process.stdout.write(`${mark} ${relative(root, file)} (${o.passed} passed, ${o.failed} failed, ${(o.ms / 1000).toFixed(1)} s)\n`);
      if (o.failed > 0) process.stdout.write(o.output.replace(/^/gm, "     | ") + "\n");
    }
  }),
);
const passed = outcomes.reduce((n, o) => n + o.passed, 0);
const failed = outcomes.reduce((n, o) => n + o.failed, 0);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 || files.length === 0 ? 1 : 0;
