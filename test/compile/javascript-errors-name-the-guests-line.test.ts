import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { transform } from "esbuild";
import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, example, rejects, test } from "../helpers.ts";
import { BUILD_TIMEOUT_MS, assertNamesLine, breakHandle, type Frame } from "./guest-lines.ts";

/** The example as plain JavaScript (there are no .js examples): types stripped, lines kept where they fall. */
async function asJavaScript(name: string, statement: string): Promise<{ source: string; line: number }> {
  const ts = breakHandle(example(name), statement).source;
  const js = (await transform(ts, { loader: "ts", format: "esm" })).code;
  const line = js.split("\n").findIndex((l) => l.includes(`"break"`)) + 1;
  assert.ok(line > 0, "the broken line survives type stripping");
  return { source: js, line };
}

test("JavaScript examples: a thrown Error in handle names its line", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, buildTimeoutMs: BUILD_TIMEOUT_MS });
  try {
    for (const name of ["echo.ts", "transform.ts"]) {
      const b = await asJavaScript(name, `  if (request === "break") throw new Error("broke on purpose");`);
      const file = name.replace(/\.ts$/, ".js");
      const service = name.replace(/\.ts$/, "");
      await host.deploy({ tenant: "a", service, source: b.source, language: "javascript", file });
      const e = await rejects(host.call("a", service, "break"), "GUEST_ERROR");
      assertNamesLine(e, file, b.line, /^broke on purpose$/);
      assert.is((e.details!.stack as Frame[]).length, 1, "handle's frame only: the SDK and Solo's entry are not the guest's");
    }
    // transform's own failures name their lines too.
    const e = await rejects(host.call("a", "transform", "{}"), "GUEST_ERROR");
    assert.match(e.message, /^transform\.js:\d+:\d+ \(handle\): request needs an "items" array$/);
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a guest that throws something other than an Error keeps its message, with no stack", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, buildTimeoutMs: BUILD_TIMEOUT_MS });
  try {
    await host.deploy({ tenant: "a", service: "s", source: `export function handle(request) {\n  throw "plain " + request;\n}\n`, language: "javascript" });
    const e = await rejects(host.call("a", "s", "text"), "GUEST_ERROR");
    assert.is(e.message, "plain text");
    assert.is(e.details, undefined);
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
