import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { example, openHost, rejects, throwsCode, test } from "../helpers.ts";

test("bad tenant and service names get INVALID_ARGUMENT naming the field", async () => {
  const t = await openHost();
  try {
    const source = example("echo.as.ts");
    for (const bad of ["", "Upper", "-lead", "has space", "a".repeat(64), "dot.ted", "ünï"]) {
      const e = await rejects(t.host.deploy({ tenant: bad, service: "ok", source, language: "assemblyscript" }), "INVALID_ARGUMENT");
      assert.equal(e.details, { field: "tenant" });
      await rejects(t.host.deploy({ tenant: "ok", service: bad, source, language: "assemblyscript" }), "INVALID_ARGUMENT");
      await rejects(t.host.call("ok", bad, ""), "INVALID_ARGUMENT");
    }
    throwsCode(() => t.host.list("BAD"), "INVALID_ARGUMENT");
    await t.host.deploy({ tenant: "a".repeat(63), service: "x_y-1", source, language: "assemblyscript" });
  } finally {
    await t.close();
  }
});

test("an oversized request gets INVALID_ARGUMENT, an oversized response RESOURCE_EXHAUSTED", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript", limits: { maxRequestBytes: 1000, maxResponseBytes: 1000 } });
    const e = await rejects(t.host.call("a", "echo", "x".repeat(1001)), "INVALID_ARGUMENT");
    assert.match(e.message, /1000 bytes/);
    await rejects(t.host.call("a", "echo", "é".repeat(600)), "INVALID_ARGUMENT"); // 1200 UTF-8 bytes
    assert.is((await t.host.call("a", "echo", "x".repeat(1000))).output.length, 1000);

    await t.host.deploy({ tenant: "a", service: "small-out", source: example("echo.as.ts"), language: "assemblyscript", limits: { maxResponseBytes: 10 } });
    await rejects(t.host.call("a", "small-out", "x".repeat(11)), "RESOURCE_EXHAUSTED");
    assert.is((await t.host.call("a", "small-out", "short")).output, "short");
  } finally {
    await t.close();
  }
});

test("deploying a name that exists is ALREADY_EXISTS and leaves the running service untouched", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "svc", source: example("counter.as.ts"), language: "assemblyscript" });
    await t.host.call("a", "svc", "");
    await rejects(t.host.deploy({ tenant: "a", service: "svc", source: example("echo.as.ts"), language: "assemblyscript" }), "ALREADY_EXISTS");
    assert.is((await t.host.call("a", "svc", "")).output, "2");
  } finally {
    await t.close();
  }
});

test("bad limits, unknown languages and oversized sources are refused before any compile", async () => {
  // A cache of its own: on the shared warm cache a compile after the check would cost nothing
  // and count nothing, so the order would not show.
  const cacheDir = mkdtempSync(join(tmpdir(), "solo-cold-cache-"));
  const t = await openHost({ cacheDir });
  try {
    const source = example("echo.as.ts");
    const e = await rejects(t.host.deploy({ tenant: "a", service: "s", source, language: "assemblyscript", limits: { fuel: -1 } }), "INVALID_ARGUMENT");
    assert.equal(e.details, { field: "limits.fuel" });
    await rejects(t.host.deploy({ tenant: "a", service: "s", source, language: "assemblyscript", limits: { bogus: 1 } as never }), "INVALID_ARGUMENT");
    await rejects(t.host.deploy({ tenant: "a", service: "s", source, language: "cobol" as never }), "INVALID_ARGUMENT");
    const big = await rejects(t.host.deploy({ tenant: "a", service: "s", source: source + "//" + "x".repeat(2000), language: "assemblyscript", limits: { maxSourceBytes: 1000 } }), "VALIDATION_FAILED");
    assert.match(big.message, /maxSourceBytes/);
    assert.is(t.host.stats().artifacts.compiles, 0);
  } finally {
    await t.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
});

test("a closed host answers UNAVAILABLE", async () => {
  const t = await openHost();
  await t.close();
  throwsCode(() => t.host.list("a"), "UNAVAILABLE");
});

test.run();
