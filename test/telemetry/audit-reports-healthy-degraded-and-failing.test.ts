// host.audit(): healthy on a fresh host; degraded by a crash-looping service, a tenant at 80% of a
// quota, a token expiring within 24 h, a certificate expiring within 30 days; failing with a
// tampered event chain or storage that refuses writes. The chain check is incremental: an audit
// verifies only the events appended since the previous one (the first one, and { full: true },
// the whole log).
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { webcrypto } from "node:crypto";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { RocksLevel } from "@nxtedition/rocksdb";
import { Host, type SoloEvent } from "../../host/index.ts";
import type { AuditReport } from "../../host/audit/index.ts";
import { fixture, openHost, rejects, test, TEST_CACHE } from "../helpers.ts";

const MOODY = fixture("moody.as.ts");

function statuses(r: AuditReport): Record<string, string> {
  return Object.fromEntries(Object.entries(r.components).map(([k, c]) => [k, c.status]));
}

function onlyDegraded(r: AuditReport, component: string): void {
  assert.is(r.status, "degraded", JSON.stringify(r.components[component as keyof AuditReport["components"]]));
  for (const [name, status] of Object.entries(statuses(r))) assert.is(status, name === component ? "degraded" : "healthy", `${name}: ${JSON.stringify(r.components[name as keyof AuditReport["components"]])}`);
}

/** A self-signed certificate valid for `days` more days, as PEM. */
async function certificate(days: number): Promise<string> {
  const crypto = webcrypto as unknown as Crypto;
  x509.cryptoProvider.set(crypto);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const keys = (await crypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: "01", name: "CN=soon", notBefore: new Date(Date.now() - 86_400_000), notAfter: new Date(Date.now() + days * 86_400_000), keys, signingAlgorithm: alg });
  return cert.toString("pem");
}

test("a fresh host is healthy in every component", async () => {
  const t = await openHost({ workers: 1 });
  try {
    const r = await t.host.audit();
    assert.is(r.status, "healthy", JSON.stringify(r));
    assert.equal(Object.keys(r.components).sort(), ["certificates", "events", "services", "storage", "tenants", "tokens", "workers"]);
    assert.is(r.components.storage.details.writable, true);
    assert.is(r.components.workers.details.alive, 1);
  } finally {
    await t.close();
  }
});

test("degraded: a crash-looping service, a tenant at 80% of a quota, a token expiring within 24 h, a certificate expiring within 30 days; each clears when fixed", async () => {
  const t = await openHost({ workers: 1 });
  const { host } = t;
  try {
    await host.deploy({ tenant: "a", service: "moody", source: MOODY, language: "assemblyscript" });
    assert.is((await host.audit()).status, "healthy");

    // Two traps in a row: a crash loop. A success ends it.
    await rejects(host.call("a", "moody", "trap"), "GUEST_TRAP");
    await rejects(host.call("a", "moody", "trap"), "GUEST_TRAP");
    let r = await host.audit();
    onlyDegraded(r, "services");
    assert.equal(r.components.services.details.crashLooping, [{ tenant: "a", service: "moody", consecutive: 2 }]);
    await host.call("a", "moody", "fine");
    assert.is((await host.audit()).status, "healthy");

    // One service of a one-service quota: 100% of it.
    await host.setQuotas("a", { services: 1 });
    r = await host.audit();
    onlyDegraded(r, "tenants");
    assert.equal(r.components.tenants.details.near, [{ tenant: "a", quota: "services", used: 1, limit: 1, share: 1 }]);
    await host.setQuotas("a", { services: 2 });
    assert.is((await host.audit()).status, "healthy", "1 of 2 is 50%");

    // A token that expires in an hour; a ten-day one is fine.
    await host.grant({ tenant: "a", permissions: ["read"], ttlMs: 10 * 86_400_000 });
    assert.is((await host.audit()).status, "healthy");
    const soon = await host.grant({ tenant: "a", permissions: ["call"], ttlMs: 3_600_000, note: "ci job" });
    r = await host.audit();
    onlyDegraded(r, "tokens");
    const listed = r.components.tokens.details.expiringSoon as { id: string; tenant: string; note?: string }[];
    assert.equal(listed.map((x) => [x.id, x.tenant, x.note]), [[soon.id, "a", "ci job"]]);
    await host.revoke(soon.id);
    assert.is((await host.audit()).status, "healthy", "a revoked token does not count");

    // A certificate in <dataDir>/tls that expires in 10 days (a 90-day one is fine).
    mkdirSync(join(t.dataDir, "tls"), { recursive: true });
    writeFileSync(join(t.dataDir, "tls", "later.pem"), await certificate(90));
    assert.is((await host.audit()).status, "healthy");
    writeFileSync(join(t.dataDir, "tls", "client.pem"), await certificate(10));
    r = await host.audit();
    onlyDegraded(r, "certificates");
    assert.match(r.components.certificates.summary, /client\.pem expires in 9 day/);
    // An expired server certificate: no client can connect any more.
    writeFileSync(join(t.dataDir, "tls", "server.pem"), await certificate(-1));
    r = await host.audit();
    assert.is(r.status, "failing");
    assert.is(r.components.certificates.status, "failing");
  } finally {
    await t.close();
  }
});

test("failing: storage that refuses writes", async () => {
  const t = await openHost({ workers: 1 });
  try {
    await t.host.injectStorageFaults({ ops: ["write"] , rate: 1 });
    const r = await t.host.audit();
    assert.is(r.status, "failing");
    assert.is(r.components.storage.status, "failing");
    assert.is(r.components.storage.details.writable, false);
    await t.host.injectStorageFaults(null);
    assert.is((await t.host.audit()).status, "healthy");
  } finally {
    await t.close();
  }
});

test("incremental: each audit verifies only the events appended since the last one; full: true walks them all", async () => {
  const t = await openHost({ workers: 1 });
  const { host } = t;
  try {
    for (let i = 1; i <= 3; i++) await host.setQuotas("a", { services: 100 + i });
    const first = await host.audit();
    const total = first.components.events.details.checked as number;
    assert.is(first.components.events.details.full, true, "the first audit after open walks the whole log");
    assert.ok(total >= 3, `${total}`);
    // Nothing new: nothing to check.
    const idle = await host.audit();
    assert.equal([idle.components.events.details.checked, idle.components.events.details.full], [0, false]);
    // Five more events (each setQuotas writes one quota_changed): exactly five checked.
    for (let i = 1; i <= 5; i++) await host.setQuotas("a", { services: 200 + i });
    const next = await host.audit();
    assert.equal([next.components.events.details.checked, next.components.events.details.full], [5, false]);
    assert.is(next.status, "healthy");
    const full = await host.audit({ full: true });
    assert.equal([full.components.events.details.checked, full.components.events.details.full], [total + 5, true]);

    // Retention compacts verified events away: the next audit goes on from its point.
    assert.ok((await host.compactEvents({ maxEvents: 2 })) > 0);
    for (let i = 1; i <= 2; i++) await host.setQuotas("a", { services: 300 + i });
    const afterCompaction = await host.audit();
    assert.equal([afterCompaction.status, afterCompaction.components.events.details.checked, afterCompaction.components.events.details.full], ["healthy", 2, false]);
    // Retention removes events no audit saw: the next one starts at the checkpoint.
    for (let i = 1; i <= 4; i++) await host.setQuotas("a", { services: 400 + i });
    assert.ok((await host.compactEvents({ maxEvents: 1 })) > 0);
    const pastPoint = await host.audit();
    assert.is(pastPoint.status, "healthy", JSON.stringify(pastPoint.components.events));
    assert.is(pastPoint.components.events.details.full, true);
  } finally {
    await t.close();
  }
});

test("failing: a tampered event chain, found by the first audit after open", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-audit-tamper-"));
  try {
    let host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    for (let i = 1; i <= 4; i++) await host.setQuotas("a", { services: 10 + i });
    const events: SoloEvent[] = [];
    for await (const e of host.events("a")) events.push(e);
    assert.is((await host.audit()).status, "healthy");
    await host.close();
    // Edit one stored event in the raw database, as someone with the disk could.
    const db = new RocksLevel(join(dataDir, "db"), { keyEncoding: "utf8", valueEncoding: "utf8" }) as any;
    await db.open();
    const key = `b:${events[2]!.id}`;
    const value: string = await db.get(key);
    assert.match(value, /"services":13/);
    await db.put(key, value.replace('"services":13', '"services":1300'));
    await db.close();

    host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    try {
      const r = await host.audit();
      assert.is(r.status, "failing");
      assert.is(r.components.events.status, "failing");
      assert.is(r.components.events.details.brokenAt, events[2]!.id);
      assert.match(r.components.events.summary, /edited/);
      // It stays failing: the verified point does not move past a broken link.
      assert.is((await host.audit()).components.events.status, "failing");
      // The operator's audit needs admin; a tenant's read token is refused.
      const { token } = await host.grant({ tenant: "a", permissions: ["read"], ttlMs: 10 * 86_400_000 });
      await rejects(host.session(token).audit(), "PERMISSION_DENIED");
    } finally {
      await host.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
