// A TypeScript guest's top-level code runs once at build time, in the sandbox in the builder
// process. Code there that allocates without end grows the guest's memory to half of
// buildMemoryBytes (the builder needs the rest), where the sandbox stops it: the deploy gets
// COMPILE_ERROR naming buildMemoryBytes, and the builder process is not killed.
import * as assert from "uvu/assert";
import { example, openHost, rejects, test } from "../helpers.ts";

// Typed arrays: memory fast for little fuel (an array filled element by element reaches
// topLevelFuel first, test/abuse/endless-top-level-code-stops-at-the-top-level-fuel).
const HOARDER = `const kept: Uint8Array[] = [];
for (;;) kept.push(new Uint8Array(16 * 1024 * 1024));
export function handle(request: string): string {
  return request + kept.length;
}
`;

// A normal build peaks at ~250-450 MB (asc is the largest); the hoarder passes any limit.
const BUILD_MEMORY_BYTES = 1024 * 1024 * 1024;

test("top-level code that allocates without end fails its deploy at half of buildMemoryBytes; another tenant's service answers during and after; the next deploy builds", async () => {
  const t = await openHost({ buildMemoryBytes: BUILD_MEMORY_BYTES });
  try {
    await t.host.deploy({ tenant: "good", service: "echo", source: example("echo.ts"), language: "typescript" });

    const hoarding = t.host.deploy({ tenant: "evil", service: "hoard", source: HOARDER, language: "typescript", file: "hoard.ts" });
    assert.is((await t.host.call("good", "echo", "while it hoards")).output, "while it hoards");
    const e = await rejects(hoarding, "COMPILE_ERROR");
    assert.is(e.details?.limit, "buildMemoryBytes");
    assert.is(e.details?.max, BUILD_MEMORY_BYTES);
    assert.match(e.message, /top-level code runs once at build time; it used more than 512 MiB of memory \(half of buildMemoryBytes, 1 GiB\)/);

    assert.is((await t.host.call("good", "echo", "after")).output, "after");
    assert.equal(t.host.list("evil"), [], "the failed deploy left nothing running");
    const fresh = `// ${Date.now()} ${Math.random()}\n${example("echo.ts")}`;
    await t.host.deploy({ tenant: "evil", service: "fine", source: fresh, language: "typescript" });
    assert.is((await t.host.call("evil", "fine", "built")).output, "built");
    assert.is(t.host.stats().builderRestarts, 0, "the sandbox stopped it: the builder process was not killed");
  } finally {
    await t.close();
  }
});

test.run();
