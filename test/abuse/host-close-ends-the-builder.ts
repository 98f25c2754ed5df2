// Run by host-close-ends-the-builder.test.ts as its own process: opens a host, builds a new
// source (which starts the builder process), closes the host, and prints what it saw as JSON.
// Then it has nothing left to do: the process must exit by itself. With the argument "keep" the
// host keeps its idle builder after close (builderIdleMs), which must not hold the process either.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, example } from "../helpers.ts";

/** This process's children whose command line names the builder. */
function builders(): number[] {
  const pids: number[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    for (const c of readFileSync(`/proc/self/task/${tid}/children`, "latin1").split(" ").filter((s) => s.trim())) {
      if (readFileSync(`/proc/${c}/cmdline`, "latin1").includes("builder-process")) pids.push(Number(c));
    }
  }
  return pids;
}

const dir = mkdtempSync(join(tmpdir(), "solo-close-"));
const keep = process.argv[2] === "keep";
const host = await Host.open({ dataDir: dir, cacheDir: TEST_CACHE, workers: 1, builderIdleMs: keep ? 60_000 : 0 });
await host.deploy({ tenant: "a", service: "echo", source: `// ${Date.now()} ${Math.random()}\n${example("echo.ts")}`, language: "typescript" });
const running = builders();
await host.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(JSON.stringify({ running, alive: running.filter((pid) => existsSync(`/proc/${pid}`)) }) + "\n");
