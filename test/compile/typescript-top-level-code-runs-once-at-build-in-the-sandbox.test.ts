// A TypeScript guest's top-level code runs once, at build time, in the sandbox (Solo's loader
// component, metered, in the builder process); the state it leaves is the component's starting
// state. What an agent sees: top-level state in every instance, restarts included; a first
// request is never evaluated as code; top-level calls to the host fail the build with the call
// and the guest's line named; and the same source builds the same component.
import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { compileJavaScript } from "../../host/compile/javascript.ts";
import { TEST_CACHE, example, openHost, rejects, test } from "../helpers.ts";
import { builds, instantiate, mapEnv } from "../lifecycle/lifecycle-guests.ts";

// Work whose fuel a call would show if the top-level code ran again (~2-4e8 units).
const WORK = `let acc = 0;
for (let i = 0; i < 100000; i++) acc = (acc * 31 + i) | 0;
`;
const STATEFUL = `${WORK}let built = 0;
built++;
export function handle(request: string): string {
  return built + " " + acc + " " + request;
}
`;
const WORK_IN_HANDLE = `export function handle(request: string): string {
  ${WORK.replaceAll("\n", "\n  ")}return String(acc);
}
`;

test("top-level state is in the built component: each instance starts with it, after a restart too, and the top-level code never runs again", async () => {
  const t = await openHost();
  try {
    const unique = `// ${Date.now()} ${Math.random()}\n`;
    await t.host.deploy({ tenant: "a", service: "work", source: unique + WORK_IN_HANDLE, language: "typescript" });
    const work = await t.host.call("a", "work", "");
    await t.host.deploy({ tenant: "a", service: "s", source: unique + STATEFUL, language: "typescript" });
    const calls = [await t.host.call("a", "s", "first"), await t.host.call("a", "s", "second")];
    assert.equal(calls.map((c) => c.output), [`1 ${work.output} first`, `1 ${work.output} second`]);
    // A call that ran the top-level work again would cost what the work costs in handle.
    for (const c of calls) assert.ok(c.fuel * 10 < work.fuel, `a call used ${c.fuel} fuel; the top-level work costs ${work.fuel}`);
    await t.host.close();
    const reopened = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 1 });
    try {
      const after = await reopened.call("a", "s", "restarted");
      assert.is(after.output, `1 ${work.output} restarted`);
      assert.ok(after.fuel * 10 < work.fuel, `after a restart a call used ${after.fuel} fuel; the top-level work costs ${work.fuel}`);
    } finally {
      await reopened.close();
    }
    // A new instance of the artifact, as a worker makes one: its start is the snapshot's, not the work.
    const b = builds();
    try {
      const instance = await instantiate(await b.build("typescript", unique + STATEFUL), mapEnv(new Map()));
      assert.ok(instance.startFuel * 10 < work.fuel, `an instance started with ${instance.startFuel} fuel; the top-level work costs ${work.fuel}`);
      const r = instance.call("direct", 1e9, 1 << 20);
      assert.is(r.ok && r.output, `1 ${work.output} direct`);
    } finally {
      await b.close();
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

test("top-level state too large to start from fails the build with COMPILE_ERROR naming the limit, not the component checks' VALIDATION_FAILED, and before the builder copies it", async () => {
  // Half of 1 GiB for the top-level code: 400 MiB of data passes that, and is refused before it is
  // copied (copies of it would take the builder process past buildMemoryBytes, and it would be killed).
  const t = await openHost({ buildMemoryBytes: 1024 ** 3 });
  try {
    const filled = await rejects(t.host.deploy({ tenant: "a", service: "filled", file: "filled.ts", language: "typescript", source: `const data = new Uint8Array(400 * 1024 * 1024).fill(7);\nexport function handle(r: string): string { return r + data[0]; }\n` }), "COMPILE_ERROR");
    assert.is(filled.details?.limit, "maxInitialMemoryBytes");
    assert.is(t.host.stats().builderRestarts, 0, "the builder was not killed");

    const wide = await rejects(t.host.deploy({ tenant: "a", service: "wide", file: "wide.ts", language: "typescript", source: `const room = new Uint8Array(80 * 1024 * 1024);\nexport function handle(r: string): string { return r + room.length; }\n` }), "COMPILE_ERROR");
    assert.is(wide.details?.limit, "maxInitialMemoryBytes");
    assert.match(wide.message, /^the guest's top-level code left its memory at \d+ MiB; a service may start with at most 64 MiB \(maxInitialMemoryBytes\)/);

    const full = await rejects(t.host.deploy({ tenant: "a", service: "full", file: "full.ts", language: "typescript", source: `const data = new Uint8Array(40 * 1024 * 1024).fill(7);\nexport function handle(r: string): string { return r + data[0]; }\n` }), "COMPILE_ERROR");
    assert.is(full.details?.limit, "maxComponentBytes");
    assert.match(full.message, /its component is \d+ MiB; a component may be at most 32 MiB \(maxComponentBytes\)/);

    // One byte every 4 KiB: little data, in more regions than a component keeps apart.
    const sparse = await rejects(t.host.deploy({ tenant: "a", service: "sparse", file: "sparse.ts", language: "typescript", source: `const room = new Uint8Array(60 * 1024 * 1024);\nfor (let i = 0; i < room.length; i += 4096) room[i] = 1;\nexport function handle(r: string): string { return r + room[0]; }\n` }), "COMPILE_ERROR");
    assert.is(sparse.details?.limit, "maxComponentBytes");
    assert.match(sparse.message, /^the guest's top-level code left data in \d+ separate regions of memory, too many to keep apart/);
    assert.equal(t.host.list("a"), []);
  } finally {
    await t.close();
  }
});

// The loader itself is not the same from one componentize-qjs build to the next (its engine's
// pre-initialised heap differs): a host keeps the one it built (loaders/ in its artifact cache).
test("with its world's loader built, the same source builds the same component, byte for byte", async () => {
  const source = `// ${Date.now()} ${Math.random()}\n${STATEFUL}`;
  const a = await compileJavaScript(source, "s.ts", "typescript");
  const b = await compileJavaScript(source, "s.ts", "typescript");
  assert.is(a.length, b.length);
  assert.ok(Buffer.from(a).equals(Buffer.from(b)), "the two builds differ");
});

test.run();
