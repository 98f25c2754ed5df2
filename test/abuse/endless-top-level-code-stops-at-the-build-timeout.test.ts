// componentize-qjs runs a TypeScript guest's top-level code once at build time (Wizer
// pre-initialises the snapshot). Code there that never ends runs in the builder process until
// buildTimeoutMs, which kills that process; the deploy gets COMPILE_ERROR naming the limit, and the
// build queued behind it runs on a fresh process.
import * as assert from "uvu/assert";
import { example, openHost, rejects, test } from "../helpers.ts";

const ENDLESS = `let spins = 0;
for (;;) spins++;
export function handle(request: string): string {
  return request + spins;
}
`;

// Well above a normal build (~1-3 s; ~10 s on a machine loaded 8x); the endless one always reaches it.
const BUILD_TIMEOUT_MS = 15_000;

test("top-level code that never ends fails its deploy at buildTimeoutMs; another tenant's service answers during and after; a build queued behind it succeeds", async () => {
  const t = await openHost({ buildTimeoutMs: BUILD_TIMEOUT_MS });
  try {
    await t.host.deploy({ tenant: "good", service: "echo", source: example("echo.ts"), language: "typescript" });

    const endless = t.host.deploy({ tenant: "evil", service: "spin", source: ENDLESS, language: "typescript", file: "spin.ts" });
    // Queued behind the endless build: it runs once the builder has been replaced.
    const queued = t.host.deploy({ tenant: "other", service: "fresh", source: `// ${Date.now()} ${Math.random()}\n${example("echo.ts")}`, language: "typescript" });
    assert.is((await t.host.call("good", "echo", "while it spins")).output, "while it spins");

    const e = await rejects(endless, "COMPILE_ERROR");
    assert.is(e.details?.limit, "buildTimeoutMs");
    assert.is(e.details?.max, BUILD_TIMEOUT_MS);
    assert.match(e.message, /top-level code runs once at build time; it ran past 15 s/);
    assert.is((e.details?.diagnostics as { file: string }[])[0]!.file, "spin.ts");

    await queued;
    assert.is((await t.host.call("other", "fresh", "queued")).output, "queued");
    assert.is((await t.host.call("good", "echo", "after")).output, "after");
    assert.equal(t.host.list("evil"), [], "the failed deploy left nothing running");
    // The killed builder was replaced by at most one process. (Once, in a cold full run, the count
    // read 0 here; the queued build answering above is what shows building went on after the kill.)
    assert.ok(t.host.stats().builderRestarts <= 1, `builder restarts: ${t.host.stats().builderRestarts}`);
  } finally {
    await t.close();
  }
});

test.run();
