import * as assert from "uvu/assert";
import { attenuate, tokenId, HOST_TENANT } from "../../host/capability/index.ts";
import { test, throwsCode } from "../helpers.ts";
import { openAuthority, parts } from "./authority.ts";

const HOUR = 3600_000;

test("after close and reopen, revoked tokens stay revoked, live ones stay live, and every grant and revoke is in the log", async () => {
  const a = await openAuthority();
  try {
    const parent = await a.caps.grant({ tenant: "acme", permissions: ["call", "grant"], ttlMs: HOUR, note: "ci deploy bot" });
    const child = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR / 2 }, a.caps.verify(parent.token));
    const keep = await a.caps.grant({ tenant: "acme", permissions: ["read"], services: ["api"], ttlMs: HOUR });
    const keepNarrow = attenuate(keep.token, { expiresAt: keep.expiresAt - 1 });
    const dropNarrow = attenuate(keep.token, { permissions: [] });
    const admin = await a.caps.grant({ tenant: "*", permissions: ["admin"], ttlMs: HOUR });
    assert.equal(await a.caps.revoke(parent.id), { id: parent.id, revoked: 2 });
    assert.equal(await a.caps.revoke(dropNarrow), { id: tokenId(dropNarrow), revoked: 1 });

    await a.reopen();

    for (const t of [parent.token, child.token, dropNarrow]) throwsCode(() => a.caps.verify(t), "UNAUTHENTICATED");
    assert.is(a.caps.verify(keep.token).tokenId, keep.id);
    assert.is(a.caps.verify(keepNarrow).tokenId, tokenId(keepNarrow));
    assert.is(a.caps.verify(admin.token).admin, true);
    assert.equal(await a.caps.revoke(parent.id), { id: parent.id, revoked: 0 }, "still revoked: nothing to write");

    assert.equal(a.caps.list("acme").map((g) => [g.id, g.revoked, g.parent ?? null, g.note ?? null]), [
      [parent.id, true, null, "ci deploy bot"],
      [child.id, true, parent.id, null],
      [keep.id, false, null, null],
    ]);
    assert.equal(a.caps.list("*").map((g) => g.id), [admin.id]);
    assert.is(a.caps.list().length, 4);

    const log = await a.events.list();
    assert.equal(log.map((e) => [e.type, e.tenant, e.actor, e.data.id]), [
      ["capability_granted", "acme", "local", parent.id],
      ["capability_granted", "acme", parent.id, child.id],
      ["capability_granted", "acme", "local", keep.id],
      ["capability_granted", HOST_TENANT, "local", admin.id],
      ["capability_revoked", "acme", "local", parent.id],
      ["capability_revoked", "acme", "local", tokenId(dropNarrow)],
    ]);
    assert.equal(log[1]!.data, { id: child.id, permissions: ["call"], expiresAt: child.expiresAt, parent: parent.id });
    assert.equal(log[2]!.data, { id: keep.id, permissions: ["read"], services: ["api"], expiresAt: keep.expiresAt });
    assert.equal(log[4]!.data, { id: parent.id, cascade: 1 });
    assert.equal(log[5]!.data, { id: tokenId(dropNarrow) });

    // Neither the store nor the log holds a token or a MAC: only ids and metadata.
    const stored = JSON.stringify([await a.storage.recordsWithPrefix("g:"), await a.storage.recordsWithPrefix("x:"), log]);
    for (const t of [parent.token, child.token, keep.token, keepNarrow, dropNarrow, admin.token]) {
      assert.not.ok(stored.includes(parts(t).pop()!), "a MAC was stored");
    }
    assert.equal((await a.storage.recordsWithPrefix("x:")).map(([k]) => k), [`x:${parent.id}`, `x:${tokenId(dropNarrow)}`].sort());
  } finally {
    await a.close();
  }
});

test("a grant whose write fails is not granted, and a revoke whose write fails does not revoke", async () => {
  const a = await openAuthority();
  try {
    const live = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR });
    await a.storage.injectFaults({ ops: ["write"], next: 1 });
    const err = await a.caps.grant({ tenant: "acme", permissions: ["read"], ttlMs: HOUR }).then(() => undefined, (e) => e);
    assert.is(err?.code, "INTERNAL");
    assert.is(a.caps.list("acme").length, 1, "the failed grant is not listed");
    await a.storage.injectFaults({ ops: ["write"], next: 1 });
    assert.is((await a.caps.revoke(live.id).then(() => undefined, (e) => e))?.code, "INTERNAL");
    a.caps.verify(live.token); // still live: the revocation is not on disk
    await a.reopen();
    a.caps.verify(live.token);
    assert.equal((await a.events.list()).map((e) => e.type), ["capability_granted"]);
  } finally {
    await a.close();
  }
});

test.run();
