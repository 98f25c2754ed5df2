import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, example, rejects, test } from "../helpers.ts";
import { BUILD_TIMEOUT_MS, assertNamesLine, breakHandle, type Frame } from "./guest-lines.ts";

const EXAMPLES = ["echo.as.ts", "counter.as.ts", "greeter.as.ts"];
const THROW = `  if (request == "break") throw new Error("broke");`;
// An index past the end traps in ~lib/array.ts, inlined into handle by asc -O3.
const OUT_OF_RANGE = `  if (request == "break") { const none = new Array<i32>(0); return none[request.length].toString(); }`;

test("every AssemblyScript example broken by a throw names that line under the deploy's file name, and keeps it after a restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  try {
    const broken = EXAMPLES.map((name) => ({ name, ...breakHandle(example(name), THROW) }));
    let host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, buildTimeoutMs: BUILD_TIMEOUT_MS });
    try {
      for (const b of broken) {
        await host.deploy({ tenant: "a", service: b.name.replace(/\.as\.ts$/, ""), source: b.source, language: "assemblyscript", file: b.name });
        const e = await rejects(host.call("a", b.name.replace(/\.as\.ts$/, ""), "break"), "GUEST_TRAP");
        assertNamesLine(e, b.name, b.line, /^guest trapped: broke \(unreachable\)$/);
        assert.not.match(e.message, /service\.ts/, "asc's own name for the file is not shown");
        assert.ok((e.details!.stack as Frame[]).every((f) => !f.file.includes("solo-entry")), "Solo's generated entry is not shown");
      }
    } finally {
      await host.close();
    }
    // The map rides in the stored component, the file name in the service's record.
    host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, buildTimeoutMs: BUILD_TIMEOUT_MS });
    try {
      const e = await rejects(host.call("a", "greeter", "break"), "GUEST_TRAP");
      assertNamesLine(e, "greeter.as.ts", broken[2]!.line, /broke/);
    } finally {
      await host.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("an index out of range names the guest's line, and ~lib/array.ts stays in the stack", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, buildTimeoutMs: BUILD_TIMEOUT_MS });
  try {
    const b = breakHandle(example("echo.as.ts"), OUT_OF_RANGE);
    await host.deploy({ tenant: "a", service: "echo", source: b.source, language: "assemblyscript" });
    const e = await rejects(host.call("a", "echo", "break"), "GUEST_TRAP");
    // No file given: the default name, the service's and the language's extension.
    assertNamesLine(e, "echo.as.ts", b.line, /^guest trapped: Index out of range at ~lib\/array\.ts:\d+:\d+ \(unreachable\)$/);
    const stack = e.details!.stack as Frame[];
    assert.ok(stack.some((f) => f.file === "~lib/array.ts"), JSON.stringify(stack));
    assert.is((await host.call("a", "echo", "hi")).output, "hi", "the next call runs on a fresh instance");
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a throw in a function called from handle names that function's line", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, buildTimeoutMs: BUILD_TIMEOUT_MS });
  try {
    const source = `export function handle(request: string): string {
  return check(request);
}

function check(request: string): string {
  if (request == "break") throw new Error("broke");
  return request;
}
`;
    await host.deploy({ tenant: "a", service: "svc", source, language: "assemblyscript", file: "mine.as.ts" });
    const e = await rejects(host.call("a", "svc", "break"), "GUEST_TRAP");
    const stack = e.details!.stack as Frame[];
    assert.is(stack.find((f) => f.file === "mine.as.ts")?.line, 6, JSON.stringify(stack));
    // asc may inline check into handle: the function is the engine frame's, the line check's.
    assert.match(e.message, /^mine\.as\.ts:6:\d+ \((handle|check)\): guest trapped: broke \(unreachable\)$/);
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
