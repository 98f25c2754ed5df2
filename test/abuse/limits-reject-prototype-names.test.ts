import * as assert from "uvu/assert";
import { DEFAULT_LIMITS, Host } from "../../host/index.ts";
import { example, openHost, rejects, test, TEST_CACHE } from "../helpers.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Names every object inherits: `name in DEFAULT_LIMITS` is true for each of them.
const INHERITED = ["constructor", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable", "toLocaleString", "__proto__", "__defineGetter__"];

test("a deploy's limits named like Object.prototype members are unknown limits (INVALID_ARGUMENT naming the field)", async () => {
  const t = await openHost();
  try {
    for (const name of INHERITED) {
      // JSON.parse makes an own property even of "__proto__", as a request body would.
      const limits = JSON.parse(`{"${name}": 5}`);
      assert.ok(Object.hasOwn(limits, name));
      const e = await rejects(t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript", limits }), "INVALID_ARGUMENT");
      assert.is(e.details?.field, `limits.${name}`);
      assert.match(e.message, new RegExp(`^unknown limit "${name}"; known: fuel, `));
    }
    assert.equal(t.host.list("a"), [], "nothing was deployed");
    // A literal { __proto__: ... } sets the prototype, not a limit: the limits are the defaults.
    const d = await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript", limits: { __proto__: { fuel: 5 } } as never });
    assert.equal(d.limits, DEFAULT_LIMITS);
  } finally {
    await t.close();
  }
});

test("host defaults named like Object.prototype members are refused when the host opens", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-limits-"));
  try {
    for (const name of ["constructor", "__proto__"]) {
      await rejects(Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1, defaults: JSON.parse(`{"${name}": 5}`) }), "INVALID_ARGUMENT");
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
