// builderIdleMs (or SOLO_BUILDER_IDLE_MS, which the test runner sets): a closed host's idle
// builder process waits for the next host this Node process opens, which builds with it instead
// of warming a compiler of its own; it is ended when no host takes it in time, only a host with
// the same build limits may take it (that it never keeps the process alive:
// host-close-ends-the-builder.test.ts).
import * as assert from "uvu/assert";
import { readFileSync, readdirSync } from "node:fs";
import { Builder, DEFAULT_BUILD_LIMITS } from "../../host/build/index.ts";
import { TEST_CACHE, example, openHost, rejects, test, type TestHost } from "../helpers.ts";

/** This process's children whose command line names the builder. */
function builders(): number[] {
  const pids: number[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    for (const c of readFileSync(`/proc/self/task/${tid}/children`, "latin1").split(" ").filter((s) => s.trim())) {
      try {
        if (readFileSync(`/proc/${c}/cmdline`, "latin1").includes("builder-process")) pids.push(Number(c));
      } catch {
        // Gone since the list was read.
      }
    }
  }
  return pids.sort();
}

/** Alive: neither gone nor a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) if (ok()) return true;
  return ok();
}

/** Deploys a source no builder has seen (so the builder must run) and calls it. */
async function deployNew(t: TestHost, service: string): Promise<void> {
  await t.host.deploy({ tenant: "a", service, source: `// ${Date.now()} ${Math.random()}\n${example("echo.ts")}`, language: "typescript" });
  assert.is((await t.host.call("a", service, "hi")).output, "hi");
}

test("the next host opened takes the closed host's idle builder: the same process builds for it", async () => {
  const first = await openHost({ builderIdleMs: 30_000 });
  let kept: number[];
  try {
    await deployNew(first, "one");
    kept = builders();
    assert.is(kept.length, 1, "one builder process ran the first host's build");
  } finally {
    await first.close();
  }
  assert.ok(alive(kept[0]!), "closing the host left its idle builder running");
  const second = await openHost({ builderIdleMs: 30_000 });
  try {
    await deployNew(second, "two");
    assert.equal(builders(), kept, "the second host built with the same process");
    assert.is(second.host.stats().builderStarts, 1, "counted as the one builder this host started");
  } finally {
    await second.close();
  }
});

test("a host with builderIdleMs 0, or another build memory limit, starts its own builder; a kept one is ended after builderIdleMs", async () => {
  const first = await openHost({ builderIdleMs: 5_000 });
  let kept: number;
  try {
    await deployNew(first, "one");
    kept = builders()[0]!;
  } finally {
    await first.close();
  }
  const zero = await openHost({ builderIdleMs: 0 });
  const other = await openHost({ builderIdleMs: 30_000, buildMemoryBytes: 1536 * 1024 ** 2 });
  try {
    await Promise.all([deployNew(zero, "two"), deployNew(other, "three")]);
    const own = builders().filter((pid) => pid !== kept);
    assert.is(own.length, 2, "each started a builder of its own");
    assert.is(zero.host.stats().builderStarts, 1);
    assert.is(other.host.stats().builderStarts, 1);
    assert.ok(await until(() => !alive(kept), 15_000), "the kept builder was ended once builderIdleMs passed");
    assert.equal(builders(), own, "theirs still run");
  } finally {
    await zero.close();
    await other.close();
  }
});

test("a kept builder that dies as it is taken costs the job nothing: the job runs on a new process", async () => {
  const options = { ...DEFAULT_BUILD_LIMITS, cacheDir: TEST_CACHE, idleMs: 30_000 };
  const check = { op: "check", language: "assemblyscript", source: example("echo.as.ts"), file: "echo.as.ts", maxSourceBytes: 1 << 20, typeCheck: "warning" } as const;
  const about = { op: "check", file: "echo.as.ts" } as const;
  const first = new Builder(options);
  const before = builders();
  assert.is((await first.run(check, about)).ok, true);
  const kept = builders().filter((pid) => !before.includes(pid));
  assert.is(kept.length, 1);
  await first.close();
  const second = new Builder(options);
  try {
    // Killed, and taken in the same turn of the loop: its exit is not seen yet, so it is handed over.
    process.kill(kept[0]!, "SIGKILL");
    const answer = second.run(check, about);
    assert.is((await answer).ok, true, "the job was answered");
    assert.is(second.started, 1, "one builder counted: the dead one never served");
    const now = builders().filter((pid) => !before.includes(pid));
    assert.is(now.length, 1);
    assert.is.not(now[0], kept[0], "a new process answered it");
  } finally {
    await second.close();
  }
});

test("builderIdleMs and SOLO_BUILDER_IDLE_MS must be whole numbers of milliseconds a timer can wait", async () => {
  assert.is((await rejects(openHost({ builderIdleMs: -1 }), "INVALID_ARGUMENT")).details?.field, "builderIdleMs");
  assert.is((await rejects(openHost({ builderIdleMs: 2 ** 31 }), "INVALID_ARGUMENT")).details?.field, "builderIdleMs");
  const saved = process.env.SOLO_BUILDER_IDLE_MS;
  process.env.SOLO_BUILDER_IDLE_MS = "soon";
  try {
    const e = await rejects(openHost(), "INVALID_ARGUMENT");
    assert.is(e.details?.field, "SOLO_BUILDER_IDLE_MS");
    assert.match(e.message, /SOLO_BUILDER_IDLE_MS must be a whole number of milliseconds .*; got "soon"/);
  } finally {
    if (saved === undefined) delete process.env.SOLO_BUILDER_IDLE_MS;
    else process.env.SOLO_BUILDER_IDLE_MS = saved;
  }
});

test.run();
