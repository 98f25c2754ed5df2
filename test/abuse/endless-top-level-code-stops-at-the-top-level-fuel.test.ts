// A TypeScript guest's top-level code runs once at build time: the builder runs it in the sandbox
// (metered, like a call) and snapshots the state it leaves. Code there that never ends runs out of
// topLevelFuel inside the sandbox; the deploy gets COMPILE_ERROR naming that limit, the builder
// process is not killed, and the build queued behind it runs.
import * as assert from "uvu/assert";
import { example, openHost, rejects, test } from "../helpers.ts";

const ENDLESS = `let spins = 0;
for (;;) spins++;
export function handle(request: string): string {
  return request + spins;
}
`;

test("top-level code that never ends fails its deploy at topLevelFuel; another tenant's service answers during and after; a build queued behind it succeeds", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "good", service: "echo", source: example("echo.ts"), language: "typescript" });

    const endless = t.host.deploy({ tenant: "evil", service: "spin", source: ENDLESS, language: "typescript", file: "spin.ts" });
    // Queued behind the endless build: it runs once that one has stopped.
    const queued = t.host.deploy({ tenant: "other", service: "fresh", source: `// ${Date.now()} ${Math.random()}\n${example("echo.ts")}`, language: "typescript" });
    assert.is((await t.host.call("good", "echo", "while it spins")).output, "while it spins");

    const e = await rejects(endless, "COMPILE_ERROR");
    assert.is(e.details?.limit, "topLevelFuel");
    assert.is(e.details?.max, 10_000_000_000);
    assert.match(e.message, /top-level code runs once at build time; it used more than 10,000,000,000 fuel \(topLevelFuel\)/);
    assert.is((e.details?.diagnostics as { file: string }[])[0]!.file, "spin.ts");

    await queued;
    assert.is((await t.host.call("other", "fresh", "queued")).output, "queued");
    assert.is((await t.host.call("good", "echo", "after")).output, "after");
    assert.equal(t.host.list("evil"), [], "the failed deploy left nothing running");
    assert.is(t.host.stats().builderRestarts, 0, "the sandbox stopped it: the builder process was not killed");
  } finally {
    await t.close();
  }
});

test.run();
