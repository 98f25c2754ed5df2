import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { DEFAULT_QUOTAS, Host } from "../../host/index.ts";
import { example, fixture, rejects, test, TEST_CACHE } from "../helpers.ts";

const open = (dataDir: string, extra: Parameters<typeof Host.open>[0] extends infer O ? Partial<O> : never = {}) => Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 2, ...extra });

test("usage() shows what a tenant uses against each quota", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  const host = await open(dataDir);
  try {
    const grow = await host.deploy({ tenant: "a", service: "grow", source: fixture("grow.as.ts"), language: "assemblyscript" });
    await host.deploy({ tenant: "a", service: "kv", source: fixture("kv-bytes.as.ts"), language: "assemblyscript" });
    const r = await host.call("a", "grow", "3");
    assert.is((await host.call("a", "kv", "euros k 10")).output, "ok");
    const u = host.usage("a");
    assert.is(u.tenant, "a");
    assert.equal(u.quotas.memoryBytes, { limit: DEFAULT_QUOTAS.memoryBytes, used: r.memoryBytes + host.status("a", "kv").memoryBytes });
    assert.ok(r.memoryBytes === grow.memoryBytes + 3 * 65536);
    assert.equal(u.quotas.services, { limit: DEFAULT_QUOTAS.services, used: 2 });
    assert.equal(u.quotas.queuedCalls, { limit: DEFAULT_QUOTAS.queuedCalls, used: 0 });
    assert.equal(u.quotas.fuelPerCall, { limit: DEFAULT_QUOTAS.fuelPerCall });
    // A bucket level: what the last calls spent is refilled within microseconds at the default rate.
    assert.is(u.quotas.fuelPerSecond.limit, DEFAULT_QUOTAS.fuelPerSecond);
    // "k" (1 byte) + ten euro signs (30 bytes).
    assert.equal(u.quotas.kvBytes, { limit: DEFAULT_QUOTAS.kvBytes, used: 31 });
    const empty = host.usage("nobody");
    assert.equal(empty.quotas.services, { limit: DEFAULT_QUOTAS.services, used: 0 });
    await rejects(Promise.resolve().then(() => host.usage("Bad Name")), "INVALID_ARGUMENT");
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("setQuotas is recorded (quota_changed), applies at once, survives a restart, and kv use is known again after it", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  try {
    let host = await open(dataDir);
    try {
      await host.deploy({ tenant: "a", service: "kv", source: fixture("kv-bytes.as.ts"), language: "assemblyscript" });
      assert.is((await host.call("a", "kv", "euros k 10")).output, "ok");
      const q = await host.setQuotas("a", { services: 1, kvBytes: 40 });
      assert.equal(q, { ...DEFAULT_QUOTAS, services: 1, kvBytes: 40 });
      // In force at once, on the worker too.
      assert.match((await host.call("a", "kv", "euros j 10")).output, /^limit-exceeded: .*kvBytes quota is 40/);
      await rejects(host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" }), "RESOURCE_EXHAUSTED");
      // Partial: a later change keeps the earlier ones.
      await host.setQuotas("a", { queuedCalls: 7 });
      await rejects(host.setQuotas("a", { services: 0 }), "INVALID_ARGUMENT");
      await rejects(host.setQuotas("a", { nope: 1 } as never), "INVALID_ARGUMENT");
      const changes = [];
      for await (const e of host.events("a", { type: "quota_changed" })) changes.push(e.data);
      assert.is(changes.length, 2);
      assert.equal(changes[0]!.changed, { services: 1, kvBytes: 40 });
    } finally {
      await host.close();
    }
    host = await open(dataDir);
    try {
      const u = host.usage("a");
      assert.is(u.quotas.services.limit, 1);
      assert.is(u.quotas.kvBytes.limit, 40);
      assert.is(u.quotas.queuedCalls.limit, 7);
      assert.is(u.quotas.kvBytes.used, 31, "the recovered service's committed kv is counted");
      assert.is(host.usage("b").quotas.services.limit, DEFAULT_QUOTAS.services, "other tenants keep the defaults");
      assert.match((await host.call("a", "kv", "euros j 10")).output, /^limit-exceeded: .*kvBytes quota is 40/);
      await rejects(host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" }), "RESOURCE_EXHAUSTED");
    } finally {
      await host.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("SOLO_QUOTA_* set the defaults, Host.open's quotas override them, and a bad value fails open with INVALID_ARGUMENT naming the variable", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  const saved = { ...process.env };
  try {
    process.env.SOLO_QUOTA_SERVICES = "3";
    process.env.SOLO_QUOTA_KV_BYTES = "5000";
    let host = await open(dataDir, { quotas: { kvBytes: 6000 } });
    try {
      const u = host.usage("a");
      assert.is(u.quotas.services.limit, 3);
      assert.is(u.quotas.kvBytes.limit, 6000);
      assert.is(u.quotas.memoryBytes.limit, DEFAULT_QUOTAS.memoryBytes);
    } finally {
      await host.close();
    }
    for (const bad of ["0", "-1", "ten", "1.5", "99999999999999999"]) {
      process.env.SOLO_QUOTA_FUEL_PER_SECOND = bad;
      const e = await rejects(open(dataDir), "INVALID_ARGUMENT");
      assert.is(e.details?.field, "SOLO_QUOTA_FUEL_PER_SECOND", bad);
      assert.match(e.message, /SOLO_QUOTA_FUEL_PER_SECOND/);
    }
    delete process.env.SOLO_QUOTA_FUEL_PER_SECOND;
    const e = await rejects(open(dataDir, { quotas: { memoryBytes: -5 } }), "INVALID_ARGUMENT");
    assert.is(e.details?.field, "quotas.memoryBytes");
    host = await open(dataDir);
    await host.close();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
