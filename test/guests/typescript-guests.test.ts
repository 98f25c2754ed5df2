import * as assert from "uvu/assert";
import { compileJavaScript } from "../../host/compile/javascript.ts";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

test("the TypeScript examples answer: echo, counter (kv), transform (JSON)", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.ts"), file: "echo.ts" });
    await t.host.deploy({ tenant: "a", service: "counter", source: example("counter.ts"), file: "counter.ts" });
    await t.host.deploy({ tenant: "a", service: "transform", source: example("transform.ts"), file: "transform.ts" });
    assert.is((await t.host.call("a", "echo", "héllo ✓")).output, "héllo ✓");
    assert.is((await t.host.call("a", "counter", "")).output, "1");
    assert.is((await t.host.call("a", "counter", "")).output, "2");
    assert.is((await t.host.call("a", "counter", "reset")).output, "0");
    const out = JSON.parse((await t.host.call("a", "transform", JSON.stringify({ items: [{ name: "a", price: 2, qty: 3 }, { name: "b", price: 10, qty: 1 }] }))).output);
    assert.equal(out, { total: 16, lines: [{ name: "b", total: 10 }, { name: "a", total: 6 }] });
    const bad = await rejects(t.host.call("a", "transform", "not json"), "GUEST_ERROR");
    assert.match(bad.message, /must be JSON/);
    assert.is(t.host.status("a", "echo").language, "typescript");
  } finally {
    await t.close();
  }
});

test("throw gives GUEST_ERROR and keeps the instance; a non-string return is a clear GUEST_ERROR", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "moody", source: fixture("moody.ts"), language: "typescript" });
    assert.is((await t.host.call("a", "moody", "x")).output, "call 1");
    const e = await rejects(t.host.call("a", "moody", "throw"), "GUEST_ERROR");
    assert.match(e.message, /^moody\.ts:5:\d+ \(handle\): you asked me to throw$/, "the message names the guest's line");
    const u = await rejects(t.host.call("a", "moody", "undefined"), "GUEST_ERROR");
    assert.match(u.message, /must return a string; it returned undefined/);
    assert.is((await t.host.call("a", "moody", "x")).output, "call 4", "the same instance answered all along");
  } finally {
    await t.close();
  }
});

test("console, Date.now, new Date() and Math.random work inside a JS guest", async () => {
  const logs: string[] = [];
  const t = await openHost({ onLog: (l) => logs.push(`${l.level} ${l.message}`) });
  try {
    await t.host.deploy({ tenant: "a", service: "g1", source: fixture("globals.ts"), language: "typescript" });
    await t.host.deploy({ tenant: "a", service: "g2", source: fixture("globals.ts"), language: "typescript" });
    const before = Date.now();
    const a = JSON.parse((await t.host.call("a", "g1", "one")).output);
    const b = JSON.parse((await t.host.call("a", "g2", "two")).output);
    assert.ok(a.now >= before - 1000 && a.now <= Date.now() + 1000, "Date.now is the host's clock");
    assert.is(a.year, new Date().getUTCFullYear());
    assert.ok(a.r1 >= 0 && a.r1 < 1 && a.r1 !== a.r2);
    assert.ok(a.r1 !== b.r1, "two instances do not share one random sequence");
    assert.ok(logs.includes("info hello from one"));
  } finally {
    await t.close();
  }
});

test("a TypeScript syntax error is COMPILE_ERROR with the right line and column", async () => {
  const t = await openHost();
  try {
    const source = `import { kv } from "solo";\n\nexport function handle(request: string): string {\n  const x = ;\n  return request;\n}\n`;
    const e = await rejects(t.host.deploy({ tenant: "a", service: "bad", source, file: "bad.ts" }), "COMPILE_ERROR");
    const d = (e.details?.diagnostics as { file: string; line: number; column: number }[])[0]!;
    assert.equal([d.file, d.line, d.column], ["bad.ts", 4, 13]);
    const imp = await rejects(t.host.deploy({ tenant: "a", service: "fs", source: `import { readFileSync } from "node:fs";\nexport function handle(r: string): string { return readFileSync(r, "utf8"); }\n`, file: "fs.ts" }), "VALIDATION_FAILED");
    assert.match(imp.message, /may import only "solo"/);
    assert.equal(t.host.list("a"), []);
  } finally {
    await t.close();
  }
});

test("a precompiled QuickJS component (several core modules) deploys as language component and runs on Solo's own binding", async () => {
  const component = await compileJavaScript(example("echo.ts"), "echo.ts", "typescript");
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "pre", source: component, file: "echo.wasm" });
    assert.is(t.host.versions("a", "pre")[0]!.kind, "component", "wired from Solo's plan, not jco's glue");
    assert.is((await t.host.call("a", "pre", "uploaded")).output, "uploaded");
  } finally {
    await t.close();
  }
});

test.run();
