import * as assert from "uvu/assert";
import { attenuate, tokenId } from "../../host/capability/index.ts";
import { rejects, test, throwsCode } from "../helpers.ts";
import { openAuthority } from "./authority.ts";

const HOUR = 3600_000;

test("a grant-only token cannot revoke a stronger sibling or its parent, and can revoke its own child and its own narrowing", async () => {
  const a = await openAuthority();
  try {
    const lead = await a.caps.grant({ tenant: "acme", permissions: ["deploy", "call", "kill", "grant"], ttlMs: HOUR });
    const strong = await a.caps.grant({ tenant: "acme", permissions: ["deploy", "call", "kill"], ttlMs: HOUR }, a.caps.verify(lead.token));
    const weak = await a.caps.grant({ tenant: "acme", permissions: ["call", "grant"], ttlMs: HOUR }, a.caps.verify(lead.token));
    const child = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR }, a.caps.verify(weak.token));
    const weakNarrow = attenuate(weak.token, { permissions: ["grant"] });
    const byNarrow = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR }, a.caps.verify(attenuate(weak.token, { permissions: ["call", "grant"] })));
    const w = a.caps.verify(weak.token);
    const events = (await a.events.list()).length;

    const lineage = async (target: string, by = w) => {
      const e = await rejects(a.caps.revoke(target, by), "PERMISSION_DENIED");
      assert.equal(e.details, { missing: "lineage", need: target.startsWith("solo_") ? tokenId(target) : target, tokenId: by.tokenId }, e.message);
      assert.match(e.message, /may revoke only itself and the tokens it granted or narrowed/);
    };
    await lineage(strong.id);
    await lineage(strong.token);
    await lineage(lead.id);
    await lineage(lead.token);
    // A narrowing of weak cannot revoke weak, which it was narrowed from.
    await lineage(weak.id, a.caps.verify(weakNarrow));
    assert.is((await a.events.list()).length, events, "refused revokes wrote nothing");
    for (const t of [lead.token, strong.token, weak.token]) a.caps.verify(t);

    // Its own child, a token narrowed from it (by text), and what a narrowing of it granted.
    assert.equal(await a.caps.revoke(child.id, w), { id: child.id, revoked: 1 });
    assert.equal(await a.caps.revoke(weakNarrow, w), { id: tokenId(weakNarrow), revoked: 1 });
    assert.equal(await a.caps.revoke(byNarrow.id, w), { id: byNarrow.id, revoked: 1 });
    for (const t of [child.token, weakNarrow, byNarrow.token]) throwsCode(() => a.caps.verify(t), "UNAUTHENTICATED");
    // And itself.
    assert.equal(await a.caps.revoke(weak.token, w), { id: weak.id, revoked: 1 });
    throwsCode(() => a.caps.verify(weak.token), "UNAUTHENTICATED");
    for (const t of [lead.token, strong.token]) a.caps.verify(t);

    // The parent may revoke what it granted.
    assert.equal(await a.caps.revoke(strong.id, a.caps.verify(lead.token)), { id: strong.id, revoked: 1 });
  } finally {
    await a.close();
  }
});

test("a token holder must give a narrowed token's text to revoke it; an id alone, real or made up, is INVALID_ARGUMENT and writes nothing", async () => {
  const a = await openAuthority();
  try {
    const holder = await a.caps.grant({ tenant: "acme", permissions: ["call", "read", "grant"], ttlMs: HOUR });
    const h = a.caps.verify(holder.token);
    const narrow = attenuate(holder.token, { permissions: ["call"] });
    const events = (await a.events.list()).length;

    const real = await rejects(a.caps.revoke(tokenId(narrow), h), "INVALID_ARGUMENT");
    assert.is(real.details?.field, "token");
    assert.match(real.message, /give the token's text/);
    // Ids nobody derived: each used to write a synced record and an event.
    for (let i = 0; i < 50; i++) {
      const madeUp = `${holder.id}.${String(i).padStart(16, "x")}`;
      assert.is((await rejects(a.caps.revoke(madeUp, h), "INVALID_ARGUMENT")).details?.field, "token");
    }
    assert.is((await a.events.list()).length, events, "nothing written");
    assert.equal(await a.storage.recordsWithPrefix("x:"), []);
    a.caps.verify(narrow);

    // With the text it works; the grant id alone still does.
    assert.equal(await a.caps.revoke(narrow, h), { id: tokenId(narrow), revoked: 1 });
    throwsCode(() => a.caps.verify(narrow), "UNAUTHENTICATED");
    const child = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR }, h);
    assert.equal(await a.caps.revoke(child.id, h), { id: child.id, revoked: 1 });

    // The operator and an admin token may still revoke by any id.
    const other = attenuate(holder.token, { permissions: ["read"] });
    const admin = a.caps.verify((await a.caps.grant({ tenant: "*", permissions: ["admin"], ttlMs: HOUR })).token);
    assert.equal(await a.caps.revoke(tokenId(other), admin), { id: tokenId(other), revoked: 1 });
    const third = attenuate(holder.token, { permissions: ["call", "read"] });
    assert.equal(await a.caps.revoke(tokenId(third)), { id: tokenId(third), revoked: 1 });
    throwsCode(() => a.caps.verify(third), "UNAUTHENTICATED");
    a.caps.verify(holder.token);
  } finally {
    await a.close();
  }
});

test.run();
