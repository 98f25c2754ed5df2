// A TypeScript guest's top-level code runs once, at build time, in the sandbox (Solo's loader
// component, metered, in the builder process); the state it leaves is the component's starting
// state. What an agent sees: top-level state in every instance, restarts included; a first
// request is never evaluated as code; top-level calls to the host fail the build with the call
// and the guest's line named; and the same source builds the same component.
import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { compileJavaScript } from "../../host/compile/javascript.ts";
import { TEST_CACHE, example, openHost, rejects, test } from "../helpers.ts";

const STATEFUL = `let built = 0;
const squares: number[] = [];
for (let i = 0; i < 1000; i++) squares.push(i * i);
built++;
export function handle(request: string): string {
  return built + " " + squares[999] + " " + request;
}
`;

test("top-level state is in the built component: each instance starts with it, after a restart too, and the top-level code never runs again", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "s", source: `// ${Date.now()} ${Math.random()}\n${STATEFUL}`, language: "typescript" });
    assert.is((await t.host.call("a", "s", "first")).output, "1 998001 first");
    assert.is((await t.host.call("a", "s", "second")).output, "1 998001 second");
    await t.host.close();
    const reopened = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 1 });
    try {
      assert.is((await reopened.call("a", "s", "restarted")).output, "1 998001 restarted");
    } finally {
      await reopened.close();
    }
  } finally {
    await t.close();
  }
});

test("a built component's first request is the guest's, never evaluated as code", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "echo", source: `// ${Date.now()} ${Math.random()}\n${example("echo.ts")}`, language: "typescript" });
    const code = `(function (module) { module.exports = { handle: () => "hijacked" }; })`;
    assert.is((await t.host.call("a", "echo", code)).output, code);
    assert.is((await t.host.call("a", "echo", code)).output, code);
  } finally {
    await t.close();
  }
});

test("top-level code that calls the host fails the build with COMPILE_ERROR naming the call, at the guest's line when the call returns a result", async () => {
  const t = await openHost();
  try {
    const kv = await rejects(t.host.deploy({ tenant: "a", service: "kv", file: "kv.ts", language: "typescript", source: `import { kv } from "solo";\nconst seen = kv.get("x");\nexport function handle(r: string): string { return r + seen; }\n` }), "COMPILE_ERROR");
    assert.match(kv.message, /^kv\.ts:2:\d+: the guest's top-level code called kv\.get while the service was being built; the host answers only inside handle/);
    assert.equal((kv.details?.diagnostics as { file: string; line: number }[]).map((d) => [d.file, d.line]), [["kv.ts", 2]]);

    // Caught, the call still fails the build: the snapshot would hold what the host refused.
    const caught = await rejects(t.host.deploy({ tenant: "a", service: "caught", file: "caught.ts", language: "typescript", source: `import { kv } from "solo";\nlet seen = "";\ntry { seen = kv.get("x") ?? ""; } catch { seen = "none"; }\nexport function handle(r: string): string { return r + seen; }\n` }), "COMPILE_ERROR");
    assert.match(caught.message, /called kv\.get while the service was being built/);

    const log = await rejects(t.host.deploy({ tenant: "a", service: "log", file: "log.ts", language: "typescript", source: `console.log("starting");\nexport function handle(r: string): string { return r; }\n` }), "COMPILE_ERROR");
    assert.match(log.message, /the guest's top-level code called log \(console\.log and its kin\) while the service was being built/);
    assert.equal(t.host.list("a"), [], "no failed build left a service");
  } finally {
    await t.close();
  }
});

test("top-level code that throws fails the build with COMPILE_ERROR at the guest's line", async () => {
  const t = await openHost();
  try {
    const e = await rejects(t.host.deploy({ tenant: "a", service: "boom", file: "boom.ts", language: "typescript", source: `function setup(): number {\n  throw new Error("no config");\n}\nconst n = setup();\nexport function handle(r: string): string { return r + n; }\n` }), "COMPILE_ERROR");
    assert.match(e.message, /^boom\.ts:2:\d+: the guest's top-level code failed while the service was being built: no config$/);
    assert.is((e.details?.diagnostics as { line: number }[])[0]!.line, 2);
  } finally {
    await t.close();
  }
});

test("top-level state too large to start from fails the build with COMPILE_ERROR naming the limit, not the component checks' VALIDATION_FAILED", async () => {
  const t = await openHost();
  try {
    const wide = await rejects(t.host.deploy({ tenant: "a", service: "wide", file: "wide.ts", language: "typescript", source: `const room = new Uint8Array(80 * 1024 * 1024);\nexport function handle(r: string): string { return r + room.length; }\n` }), "COMPILE_ERROR");
    assert.is(wide.details?.limit, "maxInitialMemoryBytes");
    assert.match(wide.message, /^the guest's top-level code left its memory at \d+ MiB; a service may start with at most 64 MiB \(maxInitialMemoryBytes\)/);

    const full = await rejects(t.host.deploy({ tenant: "a", service: "full", file: "full.ts", language: "typescript", source: `const data = new Uint8Array(40 * 1024 * 1024).fill(7);\nexport function handle(r: string): string { return r + data[0]; }\n` }), "COMPILE_ERROR");
    assert.is(full.details?.limit, "maxComponentBytes");
    assert.match(full.message, /its component is \d+ MiB; a component may be at most 32 MiB \(maxComponentBytes\)/);
    assert.equal(t.host.list("a"), []);
  } finally {
    await t.close();
  }
});

test("the same source builds the same component, byte for byte", async () => {
  const source = `// ${Date.now()} ${Math.random()}\n${STATEFUL}`;
  const a = await compileJavaScript(source, "s.ts", "typescript");
  const b = await compileJavaScript(source, "s.ts", "typescript");
  assert.is(a.length, b.length);
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), "the two builds differ");
});

test.run();
