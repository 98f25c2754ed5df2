// jco's glue for a component with several core modules is JavaScript generated from it, loaded by
// the worker as host code, and core export names land in it unescaped: a hand-made component can
// carry JavaScript there. Solo wires a QuickJS component itself from a plan of its graph (export
// names stay data), and runs glue only for components it built itself whose graph the plan does
// not cover: an uploaded component never reaches jco.
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { compileJavaScript } from "../../host/compile/javascript.ts";
import { transpileComponent } from "../../host/wasm/transpile.ts";
import { TEST_CACHE, example, test } from "../helpers.ts";

// A core export of a nested module of every QuickJS component; its uses in the glue run at
// instantiation. Replaced by a payload of the same length, no section size changes.
const EXPORT = "cm32p2|wasi:io/streams@0.2|[method]output-stream.blocking-write-and-flush_post";

/** A real QuickJS component built by Solo from examples/echo.ts, with the payload in that export name. */
async function hostileComponent(marker: string): Promise<{ component: Uint8Array; js: string }> {
  const component = await compileJavaScript(example("echo.ts"), "echo.ts", "typescript");
  const js = `import('fs').then(f=>f.writeFileSync('${marker}',''))`;
  const payload = `'+${js.padStart(EXPORT.length - 4, " ")}+'`;
  assert.is(payload.length, EXPORT.length, "the payload fits the name it replaces");
  const from = new TextEncoder().encode(EXPORT);
  const to = new TextEncoder().encode(payload);
  const out = component.slice();
  let replaced = 0;
  for (let i = out.indexOf(from[0]!); i >= 0 && i + from.length <= out.length; i = out.indexOf(from[0]!, i + 1)) {
    if (from.every((b, j) => out[i + j] === b)) {
      out.set(to, i);
      replaced++;
    }
  }
  assert.ok(replaced >= 2, "the export and its aliases were renamed");
  return { component: out, js };
}

test("an uploaded multi-module component runs on Solo's own binding, and the JavaScript in its export names never runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-glue-"));
  const marker = join(tmpdir(), `solo-pw-${Date.now().toString(36)}`);
  const host = await Host.open({ dataDir: dir, cacheDir: TEST_CACHE, workers: 1 });
  try {
    const { component, js } = await hostileComponent(marker);
    // The attack is real: jco puts the payload into the glue as code.
    assert.ok((await transpileComponent(component)).glue.includes(`[''+${" ".repeat(EXPORT.length - 4 - js.length)}${js}+'']`));

    await host.deploy({ tenant: "good", service: "echo", source: example("echo.ts"), language: "typescript" });
    await host.deploy({ tenant: "evil", service: "glue", source: component, language: "component" });
    assert.is(host.versions("evil", "glue")[0]!.kind, "component", "wired by Solo, not by glue");
    assert.is((await host.call("evil", "glue", "renamed")).output, "renamed", "the renamed stub export is never called");
    // A round trip through the one worker: anything the payload had started there has finished.
    assert.is((await host.call("good", "echo", "still here")).output, "still here");
    assert.not.ok(existsSync(marker), "the payload did not run");
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(marker, { force: true });
  }
});

test("a TypeScript service (glue Solo built) still comes back after a restart", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-glue-"));
  try {
    const first = await Host.open({ dataDir: dir, cacheDir: TEST_CACHE, workers: 1 });
    await first.deploy({ tenant: "a", service: "echo", source: example("echo.ts"), language: "typescript" });
    await first.close();
    const second = await Host.open({ dataDir: dir, cacheDir: join(dir, "fresh-cache"), workers: 1 });
    try {
      assert.is((await second.call("a", "echo", "recovered")).output, "recovered");
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
