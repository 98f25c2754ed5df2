import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, example, rejects, test } from "../helpers.ts";
import { BUILD_TIMEOUT_MS, assertNamesLine, breakHandle, type Frame } from "./guest-lines.ts";

const EXAMPLES = ["echo.ts", "counter.ts", "greeter.ts", "front.ts", "transform.ts"];
const TYPE_ERROR = `  if (request === "break") return (JSON.parse("null") as any).name;`;

test("every TypeScript example broken by a runtime error names that line under the deploy's file name", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, buildTimeoutMs: BUILD_TIMEOUT_MS });
  try {
    for (const name of EXAMPLES) {
      const b = breakHandle(example(name), TYPE_ERROR);
      const service = name.replace(/\.ts$/, "");
      await host.deploy({ tenant: "a", service, source: b.source, language: "typescript", file: `src/${name}`, capabilities: ["log", "kv"] });
      // QuickJS throws a TypeError, which fails the call as the guest's error.
      const e = await rejects(host.call("a", service, "break"), "GUEST_ERROR");
      assertNamesLine(e, `src/${name}`, b.line, /^cannot read property 'name' of null$/);
      const stack = e.details!.stack as Frame[];
      assert.ok(stack.every((f) => f.file !== "<solo-entry>" && !f.file.includes("solo-entry")), `Solo's generated entry is not shown: ${JSON.stringify(stack)}`);
    }
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a throw in a helper names the helper's line first and handle's call below it", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, buildTimeoutMs: BUILD_TIMEOUT_MS });
  try {
    const source = `import { log } from "solo";

interface Order { id: string }

function load(text: string): Order {
  log.debug("loading");
  if (!text.startsWith("{")) throw new Error(\`not an order: \${text}\`);
  return JSON.parse(text) as Order;
}

export function handle(request: string): string {
  return load(request).id;
}
`;
    await host.deploy({ tenant: "a", service: "orders", source, language: "typescript" });
    assert.is((await host.call("a", "orders", '{"id":"o-1"}')).output, "o-1");
    const e = await rejects(host.call("a", "orders", "o-1"), "GUEST_ERROR");
    const stack = e.details!.stack as Frame[];
    // No file given: the default name, the service's and the language's extension.
    assert.equal(stack.map((f) => [f.file, f.line, f.function]), [["orders.ts", 7, "load"], ["orders.ts", 12, "handle"]]);
    assert.is(e.message, `orders.ts:7:${stack[0]!.column} (load): not an order: o-1`);
    assert.is((await host.call("a", "orders", '{"id":"o-2"}')).output, "o-2", "the instance is kept");
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
