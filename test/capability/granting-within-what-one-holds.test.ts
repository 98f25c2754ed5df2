import * as assert from "uvu/assert";
import { attenuate, MAX_TTL_MS, type GrantRequest } from "../../host/capability/index.ts";
import { rejects, test, throwsCode } from "../helpers.ts";
import { openAuthority, T0 } from "./authority.ts";

const HOUR = 3600_000;

test("a grant holder can grant narrower tokens for its own tenant, and nothing wider", async () => {
  const a = await openAuthority();
  try {
    const holder = a.caps.verify((await a.caps.grant({ tenant: "acme", permissions: ["call", "read", "grant"], ttlMs: HOUR })).token);
    const narrow = await a.caps.grant({ tenant: "acme", permissions: ["call"], services: ["api"], ttlMs: HOUR / 2 }, holder);
    const n = a.caps.verify(narrow.token);
    assert.equal([...n.permissions], ["call"]);
    assert.equal([...n.services!], ["api"]);
    // The same expiry as the holder is within it.
    await a.caps.grant({ tenant: "acme", permissions: ["read"], ttlMs: HOUR }, holder);

    const deny = async (req: GrantRequest, missing: string, need: string) => {
      const e = await rejects(a.caps.grant(req, holder), "PERMISSION_DENIED");
      assert.equal(e.details, { missing, need, tokenId: holder.tokenId }, e.message);
    };
    await deny({ tenant: "acme", permissions: ["call", "deploy"], ttlMs: HOUR }, "permission", "deploy");
    await deny({ tenant: "other", permissions: ["call"], ttlMs: HOUR }, "tenant", "other");
    await deny({ tenant: "*", permissions: ["admin"], ttlMs: HOUR }, "permission", "admin");
    await deny({ tenant: "acme", permissions: ["call"], ttlMs: HOUR + 1 }, "expiry", String(T0 + HOUR + 1));
    assert.is(a.caps.list("acme").length, 3, "refused grants wrote nothing");
    assert.is((await a.events.list()).length, 3);
  } finally {
    await a.close();
  }
});

test("a holder without grant, or limited to some services, or narrowed offline, grants only within that", async () => {
  const a = await openAuthority();
  try {
    const g = await a.caps.grant({ tenant: "acme", permissions: ["call", "read", "grant"], services: ["api", "db"], ttlMs: HOUR });
    const noGrant = a.caps.verify(attenuate(g.token, { permissions: ["call", "read"] }));
    assert.equal((await rejects(a.caps.grant({ tenant: "acme", permissions: ["call"], services: ["api"], ttlMs: 1000 }, noGrant), "PERMISSION_DENIED")).details?.missing, "permission");
    const svc = a.caps.verify(g.token);
    assert.equal((await rejects(a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: 1000 }, svc), "PERMISSION_DENIED")).details, { missing: "service", need: "*", tokenId: g.id });
    assert.equal((await rejects(a.caps.grant({ tenant: "acme", permissions: ["call"], services: ["api", "web"], ttlMs: 1000 }, svc), "PERMISSION_DENIED")).details, { missing: "service", need: "web", tokenId: g.id });
    await a.caps.grant({ tenant: "acme", permissions: ["call"], services: ["db"], ttlMs: 1000 }, svc);
    // Narrowed offline to expire sooner: a grant it makes must too.
    const soon = a.caps.verify(attenuate(g.token, { expiresAt: T0 + 1000 }));
    assert.equal((await rejects(a.caps.grant({ tenant: "acme", permissions: ["call"], services: ["db"], ttlMs: 1001 }, soon), "PERMISSION_DENIED")).details?.missing, "expiry");
    // A holder that expired (or was revoked) since it was verified cannot grant.
    a.clock.now = T0 + 1000;
    await rejects(a.caps.grant({ tenant: "acme", permissions: ["call"], services: ["db"], ttlMs: 1 }, soon), "UNAUTHENTICATED");
  } finally {
    await a.close();
  }
});

test("an admin token grants anything, admin included; revoking a holder revokes its children and theirs", async () => {
  const a = await openAuthority();
  try {
    const admin = a.caps.verify((await a.caps.grant({ tenant: "*", permissions: ["admin"], ttlMs: 10 * HOUR })).token);
    const admin2 = await a.caps.grant({ tenant: "*", permissions: ["admin"], ttlMs: HOUR }, admin);
    const lead = await a.caps.grant({ tenant: "acme", permissions: ["deploy", "call", "grant"], ttlMs: HOUR }, admin);
    const bot = await a.caps.grant({ tenant: "acme", permissions: ["call", "grant"], ttlMs: HOUR }, a.caps.verify(lead.token));
    const botChild = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR }, a.caps.verify(bot.token));
    const other = await a.caps.grant({ tenant: "beta", permissions: ["call"], ttlMs: HOUR }, admin);

    // A grant holder may revoke only what descends from it: not another tenant's, not an admin
    // grant, not the token that granted it.
    assert.equal((await rejects(a.caps.revoke(other.id, a.caps.verify(bot.token)), "PERMISSION_DENIED")).details?.missing, "tenant");
    assert.equal((await rejects(a.caps.revoke(admin2.id, a.caps.verify(bot.token)), "PERMISSION_DENIED")).details?.need, "admin");
    await rejects(a.caps.revoke(bot.id, a.caps.verify(botChild.token)), "PERMISSION_DENIED");
    assert.equal((await rejects(a.caps.revoke(lead.id, a.caps.verify(bot.token)), "PERMISSION_DENIED")).details, { missing: "lineage", need: lead.id, tokenId: bot.id });

    assert.equal(await a.caps.revoke(bot.id, a.caps.verify(lead.token)), { id: bot.id, revoked: 2 }, "bot and bot's child");
    for (const t of [bot.token, botChild.token]) throwsCode(() => a.caps.verify(t), "UNAUTHENTICATED");
    a.caps.verify(lead.token);
    a.caps.verify(other.token);
    const revokedEvent = (await a.events.list({ type: "capability_revoked" }))[0]!;
    assert.equal([revokedEvent.actor, revokedEvent.data], [lead.id, { id: bot.id, cascade: 1 }]);

    // Revoking the admin token that granted everything else takes the rest with it.
    assert.equal(await a.caps.revoke(admin.tokenId), { id: admin.tokenId, revoked: 4 }, "admin, admin2, lead and other");
    throwsCode(() => a.caps.verify(admin2.token), "UNAUTHENTICATED");
    throwsCode(() => a.caps.verify(lead.token), "UNAUTHENTICATED");
    throwsCode(() => a.caps.verify(other.token), "UNAUTHENTICATED");
  } finally {
    await a.close();
  }
});

test("a malformed grant request is INVALID_ARGUMENT naming the field", async () => {
  const a = await openAuthority();
  try {
    const bad: [unknown, string][] = [
      [{ tenant: "Acme", permissions: ["call"], ttlMs: 1000 }, "tenant"],
      [{ tenant: "*", permissions: ["call"], ttlMs: 1000 }, "tenant"],
      [{ tenant: "acme", permissions: ["admin"], ttlMs: 1000 }, "tenant"],
      [{ tenant: "acme", permissions: [], ttlMs: 1000 }, "permissions"],
      [{ tenant: "acme", permissions: ["root"], ttlMs: 1000 }, "permissions"],
      [{ tenant: "acme", permissions: "call", ttlMs: 1000 }, "permissions"],
      [{ tenant: "acme", permissions: ["call"], services: [], ttlMs: 1000 }, "services"],
      [{ tenant: "acme", permissions: ["call"], services: ["a:b"], ttlMs: 1000 }, "services"],
      [{ tenant: "*", permissions: ["admin"], services: ["api"], ttlMs: 1000 }, "services"],
      [{ tenant: "acme", permissions: ["call"], ttlMs: 0 }, "ttlMs"],
      [{ tenant: "acme", permissions: ["call"], ttlMs: 1.5 }, "ttlMs"],
      [{ tenant: "acme", permissions: ["call"], ttlMs: MAX_TTL_MS + 1 }, "ttlMs"],
      [{ tenant: "acme", permissions: ["call"], ttlMs: "1000" }, "ttlMs"],
      [{ tenant: "acme", permissions: ["call"], ttlMs: 1000, note: "x".repeat(257) }, "note"],
      [{ tenant: "acme", permissions: ["call"], ttlMs: 1000, note: "line\nbreak" }, "note"],
      [null, "request"],
    ];
    for (const [req, field] of bad) {
      const e = await rejects(a.caps.grant(req as GrantRequest), "INVALID_ARGUMENT");
      assert.is(e.details?.field, field, `${JSON.stringify(req)}: ${e.message}`);
    }
    await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: MAX_TTL_MS });
    assert.is(a.caps.list().length, 1);
    throwsCode(() => a.caps.list("Not A Tenant"), "INVALID_ARGUMENT");
  } finally {
    await a.close();
  }
});

test.run();
