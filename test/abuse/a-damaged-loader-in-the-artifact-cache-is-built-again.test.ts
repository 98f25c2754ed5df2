// The QuickJS loader a TS build runs the guest's top-level code in, and its metered modules, are
// kept in the artifact cache (loaders/). A disk that damages one must not fail that world's
// deploys for good: each file carries its SHA-256, and one that does not match is made again.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { Host } from "../../host/index.ts";
import { example, test } from "../helpers.ts";

// builderIdleMs 0: each host starts its own builder, which reads the loader from the disk (a kept
// one would still hold the first host's loader in memory and never look).
test("a truncated loader file in the artifact cache is built again, and the next deploy answers", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-loader-"));
  const cacheDir = join(dir, "artifacts");
  try {
    const first = await Host.open({ dataDir: join(dir, "one"), cacheDir, workers: 1, builderIdleMs: 0 });
    try {
      await first.deploy({ tenant: "a", service: "echo", source: example("echo.ts"), language: "typescript" });
    } finally {
      await first.close();
    }
    const loaders = join(cacheDir, "loaders");
    const files = readdirSync(loaders).filter((f) => f.endsWith(".wasm"));
    assert.ok(files.length >= 2, `the loader and its modules are kept: ${files.join(", ")}`);
    const sizes = new Map(files.map((f) => [f, statSync(join(loaders, f)).size]));
    for (const f of files) truncateSync(join(loaders, f), Math.floor(sizes.get(f)! / 2));

    const second = await Host.open({ dataDir: join(dir, "two"), cacheDir, workers: 1, builderIdleMs: 0 });
    try {
      await second.deploy({ tenant: "a", service: "fresh", source: `// ${Date.now()} ${Math.random()}\n${example("echo.ts")}`, language: "typescript" });
      assert.is((await second.call("a", "fresh", "after the damage")).output, "after the damage");
    } finally {
      await second.close();
    }
    // Made again: as many whole files as before (componentize-qjs's loader is not the same bytes
    // twice, so a module of the new one may be kept under a new name beside the damaged old one).
    const whole = readdirSync(loaders).filter((f) => {
      const bytes = readFileSync(join(loaders, f));
      return bytes.length > 32 && createHash("sha256").update(bytes.subarray(32)).digest().equals(bytes.subarray(0, 32));
    });
    assert.ok(whole.length >= files.length, `${whole.length} whole files, ${files.length} before`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
