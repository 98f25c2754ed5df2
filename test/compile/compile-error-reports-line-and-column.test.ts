import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";

const BAD = `import { log } from "solo";

export function handle(request: string): string {
  const n: i32 = "not a number";
  return request;
}
`;

test("a type error is COMPILE_ERROR with the guest's file, line and column", async () => {
  const t = await openHost();
  try {
    const e = await rejects(t.host.deploy({ tenant: "a", service: "bad", source: BAD, file: "bad.as.ts" }), "COMPILE_ERROR");
    const diagnostics = e.details?.diagnostics as { file: string; line: number; column: number; message: string }[];
    assert.ok(Array.isArray(diagnostics) && diagnostics.length >= 1);
    assert.is(diagnostics[0]!.file, "bad.as.ts");
    assert.is(diagnostics[0]!.line, 4);
    assert.is(diagnostics[0]!.column, 18);
    assert.match(diagnostics[0]!.message, /not assignable/);
    assert.match(e.message, /bad\.as\.ts:4:18/);
    assert.equal(t.host.list("a"), [], "a failed deploy registers nothing");
  } finally {
    await t.close();
  }
});

test("a syntax error and a missing handle are reported with positions too", async () => {
  const t = await openHost();
  try {
    const syntax = await rejects(t.host.deploy({ tenant: "a", service: "s", source: "export function handle(r: string): string {\n  return r +;\n}\n", file: "s.as.ts" }), "COMPILE_ERROR");
    const d = (syntax.details?.diagnostics as { line: number }[])[0]!;
    assert.is(d.line, 2);
    // A missing handle is found before the compile, on the guest's own source (not the generated entry).
    const missing = await rejects(t.host.deploy({ tenant: "a", service: "m", source: "export function other(): void {}\n", file: "m.as.ts" }), "VALIDATION_FAILED");
    assert.equal((missing.details?.findings as { rule: string; line: number }[]).map((f) => `${f.rule} ${f.line}`), ["missing-handle 1"]);
    assert.match(missing.message, /must export handle/);
  } finally {
    await t.close();
  }
});

test.run();
