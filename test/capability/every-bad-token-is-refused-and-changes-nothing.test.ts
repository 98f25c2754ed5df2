// Every kind of bad token, through a real host: each is refused with its code (UNAUTHENTICATED: not
// a live token of this host; PERMISSION_DENIED: a live token that does not cover the request), the
// refusal is recorded as capability_denied, and nothing else changes: no service deployed, killed
// or called, no grant made, no other event written.
import * as assert from "uvu/assert";
import fc from "fast-check";
import { attenuate, tokenId } from "../../host/capability/index.ts";
import { SoloError, type ErrorCode, type Host } from "../../host/index.ts";
import type { Session } from "../../host/session/index.ts";
import { example, fixture, openHost, test, type TestHost } from "../helpers.ts";
import { appendCaveat } from "./authority.ts";

const HOUR = 3600_000;
let now = Date.UTC(2026, 10, 30);
let t: TestHost;
let other: TestHost;

/** What a refused request must leave as it was. */
async function snapshot(host: Host): Promise<string> {
  const services = ["a", "b"].flatMap((tenant) => host.list(tenant).map((s) => `${tenant}/${s.service}@${s.version}:${s.calls}:${s.state}`));
  const events = (await host.eventStore.list({})).filter((e) => e.type !== "capability_denied").map((e) => `${e.type}:${e.tenant}/${e.service ?? ""}`);
  return JSON.stringify({ services, grants: host.grants().length, events });
}

async function denials(host: Host): Promise<number> {
  return (await host.eventStore.list({ type: "capability_denied" })).length;
}

const grant = async (tenant: string, permissions: string[], extra: { services?: string[]; ttlMs?: number } = {}) =>
  (await t.host.grant({ tenant, permissions: permissions as never, ttlMs: extra.ttlMs ?? HOUR, ...(extra.services ? { services: extra.services } : {}) })).token;

/** A character of the token's alphabet replaced by another one of it. */
function flipAt(token: string, at: number): string {
  const c = token[at]!;
  const to = c === "A" ? "B" : c === "a" ? "b" : c === "0" ? "1" : "A";
  return token.slice(0, at) + to + token.slice(at + 1);
}

let victim = "";
const call = (s: Session) => s.call("a", "echo", "hi");

interface Case {
  name: string;
  token: () => Promise<string> | string;
  op?: (s: Session, token: string) => Promise<unknown>;
  code: ErrorCode;
  /** Runs after the token is made and before it is used (e.g. move the clock, revoke). */
  before?: (token: string) => Promise<unknown> | void;
}

const cases: Case[] = [
  { name: "empty", token: () => "", code: "UNAUTHENTICATED" },
  { name: "a space", token: () => " ", code: "UNAUTHENTICATED" },
  { name: "whitespace and newlines", token: () => "\t\r\n ", code: "UNAUTHENTICATED" },
  { name: "oversized (1 MB)", token: () => "a".repeat(1 << 20), code: "UNAUTHENTICATED" },
  { name: "a real token padded to 1 MB", token: async () => (await grant("a", ["call"])) + "A".repeat(1 << 20), code: "UNAUTHENTICATED" },
  { name: "non-ASCII inside", token: async () => { const k = await grant("a", ["call"]); return k.slice(0, 10) + "é" + k.slice(11); }, code: "UNAUTHENTICATED" },
  { name: "emoji appended", token: async () => (await grant("a", ["call"])) + "😀", code: "UNAUTHENTICATED" },
  { name: "NUL appended", token: async () => (await grant("a", ["call"])) + "\u0000", code: "UNAUTHENTICATED" },
  { name: "NUL inside", token: async () => { const k = await grant("a", ["call"]); return k.slice(0, 8) + "\u0000" + k.slice(8); }, code: "UNAUTHENTICATED" },
  { name: "surrounded by spaces", token: async () => ` ${await grant("a", ["call"])} `, code: "UNAUTHENTICATED" },
  { name: "with its Bearer prefix", token: async () => `Bearer ${await grant("a", ["call"])}`, code: "UNAUTHENTICATED" },
  { name: "truncated by one character", token: async () => (await grant("a", ["call"])).slice(0, -1), code: "UNAUTHENTICATED" },
  { name: "truncated to half", token: async () => { const k = await grant("a", ["call"]); return k.slice(0, k.length >> 1); }, code: "UNAUTHENTICATED" },
  { name: "extended by one character", token: async () => (await grant("a", ["call"])) + "A", code: "UNAUTHENTICATED" },
  { name: "last (MAC) character flipped", token: async () => { const k = await grant("a", ["call"]); return flipAt(k, k.length - 2); }, code: "UNAUTHENTICATED" },
  { name: "a character in the middle flipped", token: async () => { const k = await grant("a", ["call"]); return flipAt(k, k.length >> 1); }, code: "UNAUTHENTICATED" },
  { name: "upper-cased", token: async () => (await grant("a", ["call"])).toUpperCase(), code: "UNAUTHENTICATED" },
  { name: "two tokens joined", token: async () => (await grant("a", ["call"])) + (await grant("a", ["call"])), code: "UNAUTHENTICATED" },
  { name: "prefix and garbage", token: () => "solo_" + "x".repeat(80), code: "UNAUTHENTICATED" },
  { name: "from another host (another root key)", token: async () => (await other.host.grant({ tenant: "a", permissions: ["call"], ttlMs: HOUR })).token, code: "UNAUTHENTICATED" },
  { name: "admin token of another host", token: async () => (await other.host.grant({ tenant: "*", permissions: ["admin"], ttlMs: HOUR })).token, code: "UNAUTHENTICATED" },
  { name: "expired", token: () => grant("a", ["call"], { ttlMs: 1000 }), before: () => void (now += 1000), code: "UNAUTHENTICATED" },
  { name: "attenuated to an earlier expiry that passed", token: async () => attenuate(await grant("a", ["call"]), { expiresAt: now + 10 }), before: () => void (now += 10), code: "UNAUTHENTICATED" },
  { name: "revoked", token: () => grant("a", ["call"]), before: (k) => t.host.revoke(k), code: "UNAUTHENTICATED" },
  { name: "revoked by id", token: () => grant("a", ["call"]), before: (k) => t.host.revoke(tokenId(k)), code: "UNAUTHENTICATED" },
  { name: "offline-derived, its parent revoked", token: async () => { const parent = await grant("a", ["call", "read"]); const child = attenuate(parent, { permissions: ["call"] }); await t.host.revoke(parent); return child; }, code: "UNAUTHENTICATED" },
  { name: "granted by a grant holder whose token was revoked", token: async () => { const holder = await grant("a", ["grant", "call"]); const child = (await t.host.session(holder).grant({ tenant: "a", permissions: ["call"], ttlMs: HOUR })).token; await t.host.revoke(holder); return child; }, code: "UNAUTHENTICATED" },
  { name: "derived from a revoked derivation", token: async () => { const root = await grant("a", ["call", "read", "kill"]); const mid = attenuate(root, { permissions: ["call", "read"] }); const leaf = attenuate(mid, { permissions: ["call"] }); await t.host.revoke(mid); return leaf; }, code: "UNAUTHENTICATED" },
  { name: "reused after revoke", token: async () => { const k = await grant("a", ["call"]); await t.host.session(k).call("a", "echo", "once"); await t.host.revoke(k); return k; }, code: "UNAUTHENTICATED" },
  { name: "another tenant's token", token: () => grant("b", ["call", "read", "kill", "deploy"]), code: "PERMISSION_DENIED" },
  { name: "missing permission: call", token: () => grant("a", ["read"]), code: "PERMISSION_DENIED" },
  { name: "missing permission: kill", token: () => grant("a", ["call", "read"]), op: (s) => s.kill("a", "echo"), code: "PERMISSION_DENIED" },
  { name: "missing permission: deploy", token: () => grant("a", ["call", "read", "kill"]), op: (s) => s.deploy({ tenant: "a", service: "new", source: example("echo.as.ts"), file: "new.as.ts" }), code: "PERMISSION_DENIED" },
  { name: "missing permission: read", token: () => grant("a", ["call"]), op: (s) => s.list("a"), code: "PERMISSION_DENIED" },
  { name: "missing service", token: () => grant("a", ["call"], { services: ["other"] }), code: "PERMISSION_DENIED" },
  { name: "narrowed offline to another service", token: async () => attenuate(await grant("a", ["call"]), { services: ["other"] }), code: "PERMISSION_DENIED" },
  { name: "narrowed offline to fewer permissions", token: async () => attenuate(await grant("a", ["call", "kill"]), { permissions: ["kill"] }), code: "PERMISSION_DENIED" },
  { name: "deploy asking for a secret without `secrets`", token: () => grant("a", ["deploy"]), op: (s) => s.deploy({ tenant: "a", service: "new", source: example("echo.as.ts"), file: "new.as.ts", capabilities: ["log", "secret:db"] }), code: "PERMISSION_DENIED" },
  { name: "deploy asking to call a service the token cannot call", token: () => grant("a", ["deploy", "call"], { services: ["new"] }), op: (s) => s.deploy({ tenant: "a", service: "new", source: example("echo.as.ts"), file: "new.as.ts", capabilities: ["call:echo"] }), code: "PERMISSION_DENIED" },
  { name: "reading the whole log without admin", token: () => grant("a", ["read", "call", "deploy", "kill", "grant"]), op: (s) => s.eventLog(), code: "PERMISSION_DENIED" },
  { name: "tenant-wide events with a token narrowed to services", token: () => grant("a", ["read"], { services: ["echo2"] }), op: (s) => s.events("a"), code: "PERMISSION_DENIED" },
  { name: "granting without `grant`", token: () => grant("a", ["call", "read"]), op: (s) => s.grant({ tenant: "a", permissions: ["call"], ttlMs: HOUR }), code: "PERMISSION_DENIED" },
  { name: "granting wider permissions", token: () => grant("a", ["grant", "call"]), op: (s) => s.grant({ tenant: "a", permissions: ["call", "kill"], ttlMs: HOUR }), code: "PERMISSION_DENIED" },
  { name: "granting admin", token: () => grant("a", ["grant", "call"]), op: (s) => s.grant({ tenant: "*", permissions: ["admin"], ttlMs: HOUR }), code: "PERMISSION_DENIED" },
  { name: "granting for another tenant", token: () => grant("a", ["grant", "call"]), op: (s) => s.grant({ tenant: "b", permissions: ["call"], ttlMs: HOUR }), code: "PERMISSION_DENIED" },
  { name: "granting a later expiry", token: () => grant("a", ["grant", "call"], { ttlMs: 1000 }), op: (s) => s.grant({ tenant: "a", permissions: ["call"], ttlMs: HOUR }), code: "PERMISSION_DENIED" },
  { name: "granting more services", token: () => grant("a", ["grant", "call"], { services: ["echo"] }), op: (s) => s.grant({ tenant: "a", permissions: ["call"], services: ["echo", "other"], ttlMs: HOUR }), code: "PERMISSION_DENIED" },
  { name: "revoking another tenant's token", token: async () => { victim = await grant("a", ["call"]); return grant("b", ["grant", "call"]); }, op: (s) => s.revoke(victim), code: "PERMISSION_DENIED" },
  { name: "revoking a stronger sibling", token: async () => { const lead = await grant("a", ["grant", "call", "kill"]); victim = (await t.host.session(lead).grant({ tenant: "a", permissions: ["call", "kill"], ttlMs: HOUR })).token; return (await t.host.session(lead).grant({ tenant: "a", permissions: ["grant", "call"], ttlMs: HOUR })).token; }, op: (s) => s.revoke(victim), code: "PERMISSION_DENIED" },
  { name: "revoking the token that granted it", token: async () => { victim = await grant("a", ["grant", "call"]); return (await t.host.session(victim).grant({ tenant: "a", permissions: ["grant", "call"], ttlMs: HOUR })).token; }, op: (s) => s.revoke(victim), code: "PERMISSION_DENIED" },
  { name: "an admin token narrowed by hand with a permission caveat", token: async () => appendCaveat(await grant("*", ["admin"]), "p:call"), code: "UNAUTHENTICATED" },
  { name: "an admin token with its admin mark stripped", token: async () => (await grant("*", ["admin"])).replace("solo_admin_", "solo_"), code: "UNAUTHENTICATED" },
];

test("setup: one host with services in two tenants, and another host", async () => {
  // Every refusal is written here (the default budget writes 20 at once, then 10 a second).
  t = await openHost({ workers: 1, clock: () => now, denialEvents: { burst: 1_000_000, perSecond: 1_000_000 } });
  other = await openHost({ workers: 1 });
  await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), file: "echo.as.ts" });
  await t.host.deploy({ tenant: "a", service: "echo2", source: example("echo.as.ts"), file: "echo2.as.ts" });
  await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), file: "echo.as.ts" });
  assert.ok(cases.length >= 40, `${cases.length} cases`);
});

for (const c of cases) {
  test(`refused (${c.code}): ${c.name}`, async () => {
    const token = await c.token();
    await c.before?.(token);
    const before = await snapshot(t.host);
    const denied = await denials(t.host);
    let error: unknown;
    try {
      await (c.op ?? call)(t.host.session(token), token);
    } catch (err) {
      error = err;
    }
    assert.instance(error, SoloError, `expected ${c.code}, but it succeeded`);
    const e = error as SoloError;
    assert.is(e.code, c.code, e.message);
    // Never echoed back: the message and details do not hold the token.
    if (token.length > 20) assert.not.ok(JSON.stringify(e.toJSON()).includes(token.trim()), "the error holds the token");
    assert.is(await snapshot(t.host), before, "the refused request changed something");
    assert.is(await denials(t.host), denied + 1, "one capability_denied event");
    const last = (await t.host.eventStore.list({ type: "capability_denied" })).at(-1)!;
    assert.not.ok(JSON.stringify(last).includes(token.trim() || "\u0001"), "the event holds the token");
    // The host and its services still work for a good token.
    const good = await grant("a", ["call"]);
    assert.is((await t.host.session(good).call("a", "echo", "still")).output, "still");
  });
}

test("attenuate() refuses to widen permissions, services or expiry", async () => {
  // What a token's own caveats show is checked offline: here its permissions, services and expiry.
  const narrow = attenuate(attenuate(await grant("a", ["call", "read"], { ttlMs: HOUR }), { services: ["echo"], expiresAt: now + HOUR / 2 }), { permissions: ["call"] });
  for (const wider of [{ permissions: ["call", "read"] }, { permissions: ["kill"] }, { services: ["echo", "echo2"] }, { expiresAt: now + 2 * HOUR }] as const) {
    try {
      attenuate(narrow, wider as never);
      assert.unreachable(`widened with ${JSON.stringify(wider)}`);
    } catch (err) {
      assert.instance(err, SoloError);
      assert.is((err as SoloError).code, "INVALID_ARGUMENT", (err as Error).message);
    }
  }
  // Narrowing still works and the narrowed token is live.
  assert.is((await t.host.session(narrow).call("a", "echo", "n")).output, "n");
  // The grant's own services are not in the token, so offline they cannot be checked: a caveat
  // naming more is accepted, and gives nothing (authority is the grant's intersected with it).
  const granted = await grant("a", ["call"], { services: ["echo"] });
  const wider = attenuate(granted, { services: ["echo", "echo2"] });
  let code: string | undefined;
  try {
    await t.host.session(wider).call("a", "echo2", "no");
  } catch (err) {
    code = (err as SoloError).code;
  }
  assert.is(code, "PERMISSION_DENIED");
});

test("a token that expires during a long call: that call finishes, the next is refused", async () => {
  await t.host.deploy({ tenant: "a", service: "spin", source: fixture("spin.as.ts"), file: "spin.as.ts" });
  const k = await grant("a", ["call"], { ttlMs: 5_000 });
  const s = t.host.session(k);
  const long = s.call("a", "spin", "30000000");
  now += 10_000; // expires while the call runs
  const reply = await long;
  assert.ok(reply.fuel > 0);
  let code: string | undefined;
  try {
    await s.call("a", "spin", "1");
  } catch (err) {
    code = (err as SoloError).code;
  }
  assert.is(code, "UNAUTHENTICATED");
  await t.host.kill("a", "spin");
});

test("property: 1,000 random and mutated tokens are all refused, and nothing changes", async () => {
  const real = await grant("a", ["call"], { services: ["echo2"] }); // cannot call echo even if it verified
  const before = await snapshot(t.host);
  const mutated = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: "binary", maxLength: 300 }),
    fc.tuple(fc.nat(real.length - 1), fc.string({ minLength: 1, maxLength: 3 })).map(([at, s]) => real.slice(0, at) + s + real.slice(at + 1)),
    fc.nat(real.length - 1).map((n) => real.slice(0, n)),
    fc.tuple(fc.nat(real.length), fc.string({ minLength: 1, maxLength: 8 })).map(([at, s]) => real.slice(0, at) + s + real.slice(at)),
    fc.nat(real.length - 1).map((at) => flipAt(real, at)),
  );
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(mutated, async (token) => {
      try {
        await t.host.session(token).call("a", "echo", "x");
      } catch (err) {
        const code = (err as SoloError).code;
        // Only the real token itself (a mutation that changed nothing) may verify; it is then
        // refused for what it covers. Every other text is not a live token.
        if (code === "UNAUTHENTICATED" || (code === "PERMISSION_DENIED" && token === real)) {
          refused++;
          return true;
        }
        throw err;
      }
      return false;
    }),
    { numRuns: 1_000, seed: 20261130 },
  );
  assert.is(refused, 1_000);
  assert.is(await snapshot(t.host), before);
});

test("teardown", async () => {
  await t.close();
  await other.close();
});

test.run();
