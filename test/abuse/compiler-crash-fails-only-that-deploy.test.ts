// asc crashes on a generic that instantiates itself with a deeper type each time (its checker
// recurses until the stack is gone) and then calls process.exit(1). It does so in the builder
// process: that deploy fails, the host and every other tenant's service go on.
import * as assert from "uvu/assert";
import { example, openHost, rejects, test } from "../helpers.ts";

const CRASHES_ASC = `function nest<T>(x: T): void {
  nest<T[]>([x]);
}
export function handle(request: string): string {
  nest<i32>(1);
  return request;
}
`;

test("a source that crashes asc fails that deploy with COMPILE_ERROR; another tenant's service answers during and after; the next deploy builds", async () => {
  // asc takes its time to run out of stack (~4 s, far more on a loaded machine): a generous
  // build limit keeps this a crash, never a timeout.
  const t = await openHost({ buildTimeoutMs: 300_000 });
  try {
    await t.host.deploy({ tenant: "good", service: "echo", source: example("echo.ts"), language: "typescript" });

    const crashing = t.host.deploy({ tenant: "evil", service: "crash", source: CRASHES_ASC, language: "assemblyscript", file: "crash.as.ts" });
    assert.is((await t.host.call("good", "echo", "while it builds")).output, "while it builds");
    const e = await rejects(crashing, "COMPILE_ERROR");
    assert.match(e.message, /AssemblyScript compiler crashed/);
    // Why it stopped, as the builder saw it (its stack overflow, or how the process ended).
    assert.match(String(e.details?.reason), /Error|exit code|killed by/);
    const d = (e.details?.diagnostics as { file: string }[])[0]!;
    assert.is(d.file, "crash.as.ts");

    assert.is((await t.host.call("good", "echo", "after")).output, "after");
    assert.equal(t.host.list("evil"), [], "the failed deploy left nothing running");
    // A new source builds on a fresh builder process.
    const fresh = `// ${Date.now()} ${Math.random()}\n${example("echo.as.ts")}`;
    await t.host.deploy({ tenant: "evil", service: "fine", source: fresh, language: "assemblyscript" });
    assert.is((await t.host.call("evil", "fine", "built")).output, "built");
    assert.is(t.host.stats().builderRestarts, 1);
  } finally {
    await t.close();
  }
});

test("a source nested deeper than asc's parser can follow is COMPILE_ERROR, not INTERNAL", async () => {
  const t = await openHost();
  try {
    const deep = `export function handle(request: string): string {\n  return (${"(".repeat(5000)}1${")".repeat(5000)}).toString();\n}\n`;
    const e = await rejects(t.host.deploy({ tenant: "evil", service: "deep", source: deep, language: "assemblyscript", file: "deep.as.ts" }), "COMPILE_ERROR");
    assert.match(e.message, /nests deeper than the compiler can follow/);
    assert.is((e.details?.diagnostics as { file: string }[])[0]!.file, "deep.as.ts");
  } finally {
    await t.close();
  }
});

test.run();
