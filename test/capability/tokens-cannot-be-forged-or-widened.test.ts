import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { attenuate, authorize, tokenId, type Authority as Auth } from "../../host/capability/index.ts";
import { test, throwsCode, rejects } from "../helpers.ts";
import { appendCaveat, caveat, join_, openAuthority, parts, T0 } from "./authority.ts";

const HOUR = 3600_000;

/** verify must refuse with UNAUTHENTICATED, and never echo the token. */
function refused(a: { caps: { verify(t: string): Auth } }, token: string, why: string): void {
  const err = throwsCode(() => a.caps.verify(token), "UNAUTHENTICATED");
  const sig = typeof token === "string" ? parts(token).pop() ?? "" : "";
  if (sig.length > 8) assert.not.ok(err.message.includes(sig) || JSON.stringify(err.details ?? {}).includes(sig), `${why}: the error echoes the token`);
}

function flipSigByte(token: string, at: number): string {
  const ps = parts(token);
  const sig = Buffer.from(ps.pop()!, "base64url");
  sig[at] = sig[at]! ^ 0x01;
  return join_([...ps, sig.toString("base64url")]);
}

test("a changed, cut or extended token is refused; the original still works", async () => {
  const a = await openAuthority();
  try {
    const { token } = await a.caps.grant({ tenant: "acme", permissions: ["call", "read"], ttlMs: HOUR });
    const narrowed = attenuate(token, { permissions: ["call"] });
    for (const t of [token, narrowed]) {
      for (const at of [0, 15, 31]) refused(a, flipSigByte(t, at), `sig byte ${at} flipped`);
      refused(a, t.slice(0, -1), "last character cut");
      refused(a, t.slice(0, t.lastIndexOf(".")), "signature cut off");
      refused(a, t + "A", "a character appended");
      refused(a, t + ".AAAA", "a part appended");
      // A caveat added without its MAC, before the signature.
      const ps = parts(t);
      refused(a, join_([...ps.slice(0, -1), caveat("p:call"), ps[ps.length - 1]!]), "caveat added without re-MAC");
      // The grant id changed: the MAC was for another id.
      const other = ps[0]!.slice(0, -1) + (ps[0]!.endsWith("0") ? "1" : "0");
      refused(a, join_([other, ...ps.slice(1)]), "grant id changed");
    }
    // A caveat removed: its MAC is needed to make the next one, and the holder does not have it.
    const ps = parts(narrowed);
    refused(a, join_([ps[0]!, ps[2]!]), "caveat removed");
    // A caveat edited in place (p:call -> p:read), signature unchanged.
    refused(a, join_([ps[0]!, caveat("p:read"), ps[2]!]), "caveat edited");
    assert.equal([...a.caps.verify(token).permissions], ["call", "read"]);
    assert.equal([...a.caps.verify(narrowed).permissions], ["call"]);
  } finally {
    await a.close();
  }
});

test("a token made with another host's root key is refused, even for a grant id this host has", async () => {
  const a = await openAuthority();
  const b = await openAuthority();
  try {
    const mine = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR });
    const theirs = await b.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR });
    refused(a, theirs.token, "another host's token");
    refused(b, mine.token, "another host's token");
    // Same data directory, same grant record, another key file: the MAC no longer checks.
    await a.reopen(join(a.dir, "keys", "other.key"));
    refused(a, mine.token, "same grant, another key");
  } finally {
    await a.close();
    await b.close();
  }
});

test("text that is not a token is refused before anything else: empty, 1 MB, non-ASCII, NUL, whitespace", async () => {
  const a = await openAuthority();
  try {
    const { token } = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR });
    const huge = "solo_" + "A".repeat(1 << 20);
    const e = throwsCode(() => a.caps.verify(huge), "UNAUTHENTICATED");
    assert.match(e.message, /4096/, "the size limit is named");
    assert.ok(e.message.length < 300, "the message does not carry the token");
    throwsCode(() => tokenId(huge), "UNAUTHENTICATED");
    throwsCode(() => attenuate(huge, { permissions: [] }), "UNAUTHENTICATED");
    const cases: [string, string][] = [
      ["", "empty"],
      [" ", "a space"],
      [" " + token, "leading space"],
      [token + "\n", "trailing newline"],
      [token.slice(0, 20) + " " + token.slice(21), "space inside"],
      [token.slice(0, 20) + "\u0000" + token.slice(21), "NUL inside"],
      [token + "\u0000", "NUL appended"],
      [token.slice(0, 20) + "é" + token.slice(21), "non-ASCII"],
      [token.slice(0, 20) + "\u{1F600}" + token.slice(22), "emoji"],
      [token.replace("solo_", "SOLO_"), "prefix changed"],
      [token.replace("solo_", ""), "prefix missing"],
      ["solo_", "prefix only"],
      ["solo_.", "empty parts"],
      [token.replace("solo_", "solo_."), "empty grant id"],
      ["solo_" + parts(token)[0] + "." + "=".repeat(43), "padding as a signature"],
      ["solo_" + parts(token)[0] + "." + parts(token)[1] + "==", "padded signature"],
    ];
    for (const [t, why] of cases) refused(a, t, why);
    for (const notText of [undefined, null, 42, {}, ["solo_"]]) throwsCode(() => a.caps.verify(notText as unknown as string), "UNAUTHENTICATED");
    // 33 caveats: refused by count, before any MAC.
    const many = join_([parts(token)[0]!, ...Array.from({ length: 33 }, () => caveat("p:call")), parts(token)[1]!]);
    assert.match(throwsCode(() => a.caps.verify(many), "UNAUTHENTICATED").message, /32/);
  } finally {
    await a.close();
  }
});

test("attenuation only narrows: attenuate refuses to widen, and a hand-made widening caveat adds nothing", async () => {
  const a = await openAuthority();
  try {
    const g = await a.caps.grant({ tenant: "acme", permissions: ["call", "read", "kill"], services: ["api", "db"], ttlMs: 10 * HOUR });
    const narrow = attenuate(g.token, { permissions: ["call", "read"], services: ["api"], expiresAt: T0 + HOUR });
    const n = a.caps.verify(narrow);
    assert.equal([...n.permissions], ["call", "read"]);
    assert.equal([...n.services!], ["api"]);
    assert.is(n.expiresAt, T0 + HOUR);
    assert.is(n.tokenId, tokenId(narrow));
    assert.is.not(n.tokenId, g.id);
    authorize(n, { tenant: "acme", permission: "call", service: "api" });
    const miss = (need: Parameters<typeof authorize>[1]) => throwsCode(() => authorize(n, need), "PERMISSION_DENIED").details;
    assert.equal(miss({ tenant: "acme", permission: "kill", service: "api" }), { missing: "permission", need: "kill", tokenId: n.tokenId });
    assert.equal(miss({ tenant: "acme", permission: "call", service: "db" }), { missing: "service", need: "db", tokenId: n.tokenId });
    assert.equal(miss({ tenant: "other", permission: "call", service: "api" }), { missing: "tenant", need: "other", tokenId: n.tokenId });
    assert.equal(miss({ tenant: "acme", permission: "read" }), { missing: "service", need: "*", tokenId: n.tokenId });

    // attenuate() refuses what the token's caveats show it lacks.
    assert.is(throwsCode(() => attenuate(narrow, { permissions: ["kill"] }), "INVALID_ARGUMENT").details?.field, "permissions");
    assert.is(throwsCode(() => attenuate(narrow, { services: ["db"] }), "INVALID_ARGUMENT").details?.field, "services");
    assert.is(throwsCode(() => attenuate(narrow, { expiresAt: T0 + 2 * HOUR }), "INVALID_ARGUMENT").details?.field, "expiresAt");
    throwsCode(() => attenuate(narrow, {}), "INVALID_ARGUMENT");
    throwsCode(() => attenuate(narrow, { permissions: ["root" as "call"] }), "INVALID_ARGUMENT");

    // A holder can MAC any caveat it likes; the authority is still the intersection.
    const wider = appendCaveat(appendCaveat(appendCaveat(narrow, "p:call,read,kill,deploy,admin"), "s:api,db,other"), `e:${T0 + 100 * HOUR}`);
    const w = a.caps.verify(wider);
    assert.equal([...w.permissions], ["call", "read"]);
    assert.equal([...w.services!], ["api"]);
    assert.is(w.expiresAt, T0 + HOUR);
    assert.is(w.admin, false);
    throwsCode(() => authorize(w, { tenant: "acme", permission: "kill", service: "api" }), "PERMISSION_DENIED");
    throwsCode(() => authorize(w, { tenant: "acme", permission: "deploy", service: "api" }), "PERMISSION_DENIED");
    throwsCode(() => authorize(w, { tenant: "acme", permission: "call", service: "other" }), "PERMISSION_DENIED");
    // Even on the grant's own token: a caveat naming more than the grant gives nothing more.
    const g2 = a.caps.verify(appendCaveat(g.token, "p:call,read,kill,deploy,grant,admin"));
    assert.equal([...g2.permissions], ["call", "kill", "read"]);
    // An unknown caveat kind or a malformed one fails the token (fail closed).
    refused(a, appendCaveat(g.token, "z:anything"), "unknown caveat");
    refused(a, appendCaveat(g.token, "p:call,call"), "duplicate permission");
    refused(a, appendCaveat(g.token, "e:soon"), "bad expiry");
    refused(a, appendCaveat(g.token, "s:Bad Name"), "bad service name");
  } finally {
    await a.close();
  }
});

test("an admin token can be narrowed only in expiry: attenuate refuses fewer permissions or services, and the verifier refuses a hand-made one", async () => {
  const a = await openAuthority();
  try {
    const root = await a.caps.grant({ tenant: "*", permissions: ["admin"], ttlMs: HOUR });
    assert.ok(root.token.startsWith("solo_admin_"), "an admin token is marked as one");
    assert.is(tokenId(root.token), root.id);
    const admin = a.caps.verify(root.token);
    assert.is(admin.admin, true);
    assert.is(admin.tenant, "*");
    authorize(admin, { tenant: "anyone", permission: "deploy" });

    // Narrowed in permissions or services it would still act for every tenant: refused.
    for (const narrower of [{ permissions: ["read" as const] }, { services: ["api"] }, { permissions: ["call" as const], expiresAt: T0 + 1000 }]) {
      const e = throwsCode(() => attenuate(root.token, narrower), "INVALID_ARGUMENT");
      assert.is(e.details?.field, narrower.permissions ? "permissions" : "services");
      assert.match(e.message, /grant a tenant token instead/);
    }
    // In expiry it stays admin, until then.
    const short = attenuate(root.token, { expiresAt: T0 + 1000 });
    assert.ok(short.startsWith("solo_admin_"));
    const s = a.caps.verify(short);
    assert.is(s.admin, true);
    assert.is(s.expiresAt, T0 + 1000);
    assert.throws(() => attenuate(short, { services: ["api"] }));

    // A holder can MAC a p: or s: caveat by hand: the verifier refuses the token outright.
    for (const text of ["p:read", "s:api", "p:admin", "s:"]) {
      for (const base of [root.token, short]) {
        const e = throwsCode(() => a.caps.verify(appendCaveat(base, text)), "UNAUTHENTICATED");
        assert.match(e.message, /narrowed only in expiry/);
      }
    }
    // The mark must match the grant: stripped from an admin token, or put on a tenant token.
    const tenant = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR });
    refused(a, root.token.replace("solo_admin_", "solo_"), "admin mark stripped");
    refused(a, attenuate(root.token.replace("solo_admin_", "solo_"), { permissions: ["read"] }), "admin mark stripped, then narrowed");
    refused(a, tenant.token.replace("solo_", "solo_admin_"), "admin mark added");
    a.caps.verify(root.token);
    a.caps.verify(tenant.token);
  } finally {
    await a.close();
  }
});

test("expiry is checked on every verify, by the clock the host was opened with", async () => {
  const a = await openAuthority();
  try {
    const g = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: HOUR });
    assert.is(g.expiresAt, T0 + HOUR);
    const short = attenuate(g.token, { expiresAt: T0 + 60_000 });
    a.caps.verify(g.token);
    a.caps.verify(short);
    a.clock.now = T0 + 60_000 - 1;
    a.caps.verify(short);
    a.clock.now = T0 + 60_000;
    assert.match(throwsCode(() => a.caps.verify(short), "UNAUTHENTICATED").message, /expired/);
    a.caps.verify(g.token);
    a.clock.now = T0 + HOUR;
    throwsCode(() => a.caps.verify(g.token), "UNAUTHENTICATED");
    a.clock.now = T0;
    a.caps.verify(g.token); // a clock set back: expiry is a compare, nothing is forgotten
  } finally {
    await a.close();
  }
});

test("a revoked token stays refused, and so does everything narrowed from it or granted by it", async () => {
  const a = await openAuthority();
  try {
    const g = await a.caps.grant({ tenant: "acme", permissions: ["call", "read", "grant"], ttlMs: HOUR });
    const t1 = attenuate(g.token, { permissions: ["call", "grant"] });
    const t2 = attenuate(t1, { expiresAt: T0 + HOUR / 2 });
    const sibling = attenuate(g.token, { permissions: ["read"] });
    const byT2 = await a.caps.grant({ tenant: "acme", permissions: ["call"], ttlMs: 60_000 }, a.caps.verify(t2));
    const byG = await a.caps.grant({ tenant: "acme", permissions: ["read"], ttlMs: 60_000 }, a.caps.verify(g.token));
    for (const t of [g.token, t1, t2, sibling, byT2.token, byG.token]) a.caps.verify(t); // all cached now

    // Revoking an offline derivation: it, what was narrowed from it and what its descendants granted.
    assert.equal(await a.caps.revoke(tokenId(t1)), { id: tokenId(t1), revoked: 2 });
    refused(a, t1, "revoked");
    refused(a, t2, "narrowed from a revoked token");
    refused(a, byT2.token, "granted by a token narrowed from a revoked one");
    a.caps.verify(g.token);
    a.caps.verify(sibling);
    a.caps.verify(byG.token);
    refused(a, attenuate(t2, { permissions: ["call"] }), "narrowed again after the revoke");

    // Revoking the grant: every token of it and every grant below it.
    assert.equal(await a.caps.revoke(g.token), { id: g.id, revoked: 2 });
    for (const t of [g.token, sibling, byG.token]) refused(a, t, "grant revoked");
    for (let i = 0; i < 3; i++) refused(a, g.token, "reused after revoke");
    assert.equal(await a.caps.revoke(g.id), { id: g.id, revoked: 0 }, "revoking again changes nothing");
    assert.match(throwsCode(() => a.caps.verify(byG.token), "UNAUTHENTICATED").message, new RegExp(`descends from ${g.id}`));

    await rejects(a.caps.revoke("01ARZ3NDEKTSV4RRFFQ69G5FAV"), "NOT_FOUND");
    await rejects(a.caps.revoke("solo_01ARZ3NDEKTSV4RRFFQ69G5FAV.AAAA"), "NOT_FOUND");
    await rejects(a.caps.revoke(flipSigByte(sibling, 3)), "NOT_FOUND");
    await rejects(a.caps.revoke("not an id"), "INVALID_ARGUMENT");
  } finally {
    await a.close();
  }
});

test("token ids are computed without the key, distinct per derivation, and never contain the signature", async () => {
  const a = await openAuthority();
  try {
    const g = await a.caps.grant({ tenant: "acme", permissions: ["call", "read"], ttlMs: HOUR });
    assert.is(tokenId(g.token), g.id);
    const x = attenuate(g.token, { permissions: ["call"] });
    const y = attenuate(g.token, { permissions: ["read"] });
    const xx = attenuate(x, { permissions: ["call"] });
    const ids = new Set([g.id, tokenId(x), tokenId(y), tokenId(xx)]);
    assert.is(ids.size, 4);
    for (const t of [x, y, xx]) {
      assert.ok(tokenId(t).startsWith(g.id + "."));
      assert.not.ok(t.includes(tokenId(t).slice(27)));
    }
    throwsCode(() => tokenId("garbage"), "UNAUTHENTICATED");
  } finally {
    await a.close();
  }
});

test("the key file is made with mode 0600; a wrong-sized or world-readable key is refused as INTERNAL", async () => {
  const { statSync, writeFileSync, chmodSync } = await import("node:fs");
  const a = await openAuthority();
  const dir = mkdtempSync(join(tmpdir(), "solo-cap-key-"));
  try {
    assert.is(statSync(a.keyFile).mode & 0o777, 0o600);
    assert.is(statSync(a.keyFile).size, 32);
    const short = join(dir, "short.key");
    writeFileSync(short, Buffer.alloc(31), { mode: 0o600 });
    assert.match((await rejects(a.reopen(short), "INTERNAL")).message, /31 bytes/);
    const open = join(dir, "open.key");
    writeFileSync(open, Buffer.alloc(32, 7), { mode: 0o600 });
    chmodSync(open, 0o644);
    assert.match((await rejects(a.reopen(open), "INTERNAL")).message, /chmod 600/);
    await rejects(a.reopen(dir), "INTERNAL");
  } finally {
    await a.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
