// Property: random text, and random edits of real tokens (character flips, cuts, insertions,
// caveats added, removed, swapped or replaced), never verify as anything more than the original.
// Each either fails with UNAUTHENTICATED or (an edit that changed nothing that matters) verifies
// with an authority inside the original's.
import fc from "fast-check";
import * as assert from "uvu/assert";
import { attenuate, type Authority } from "../../host/capability/index.ts";
import { SoloError } from "../../host/errors.ts";
import { test } from "../helpers.ts";
import { caveat, join_, openAuthority, parts, T0 } from "./authority.ts";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const CAVEATS = ["p:call", "p:call,read,kill,deploy,admin", "p:", "s:api", "s:api,db,other", "s:", `e:${T0}`, `e:${T0 + 1e9}`, "z:", "p:call,call", "e:-1"].map(caveat);

type Edit =
  | { op: "set"; at: number; ch: string }
  | { op: "cut"; at: number }
  | { op: "insert"; at: number; text: string }
  | { op: "delete"; at: number; len: number }
  | { op: "caveatAdd"; at: number; which: number }
  | { op: "caveatDrop"; at: number }
  | { op: "caveatSwap"; a: number; b: number }
  | { op: "caveatSet"; at: number; which: number }
  | { op: "partSet"; at: number; text: string };

const char = fc.oneof(fc.constantFrom(...B64, ".", "=", " ", "\u0000", "\n", "é", "\u{1F600}"), fc.string({ unit: "binary", minLength: 1, maxLength: 1 }));
const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), ch: char }),
  fc.record({ op: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.string({ unit: fc.constantFrom(...B64, "."), minLength: 1, maxLength: 8 }), fc.string({ unit: "binary", minLength: 1, maxLength: 4 })) }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ op: fc.constant("caveatAdd" as const), at: fc.nat(), which: fc.nat() }),
  fc.record({ op: fc.constant("caveatDrop" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("caveatSwap" as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ op: fc.constant("caveatSet" as const), at: fc.nat(), which: fc.nat() }),
  fc.record({ op: fc.constant("partSet" as const), at: fc.nat(), text: fc.string({ unit: fc.constantFrom(...B64), minLength: 0, maxLength: 44 }) }),
);

function apply(token: string, e: Edit): string {
  const n = token.length;
  switch (e.op) {
    case "set": { const i = e.at % n; return token.slice(0, i) + e.ch + token.slice(i + 1); }
    case "cut": return token.slice(0, e.at % n);
    case "insert": { const i = e.at % (n + 1); return token.slice(0, i) + e.text + token.slice(i); }
    case "delete": { const i = e.at % n; return token.slice(0, i) + token.slice(i + e.len); }
  }
  const ps = parts(token);
  const caveats = ps.slice(1, -1);
  const sig = ps[ps.length - 1]!;
  switch (e.op) {
    case "caveatAdd": caveats.splice(e.at % (caveats.length + 1), 0, CAVEATS[e.which % CAVEATS.length]!); break;
    case "caveatDrop": if (caveats.length) caveats.splice(e.at % caveats.length, 1); break;
    case "caveatSwap": if (caveats.length) { const i = e.a % caveats.length, j = e.b % caveats.length; [caveats[i], caveats[j]] = [caveats[j]!, caveats[i]!]; } break;
    case "caveatSet": if (caveats.length) caveats[e.at % caveats.length] = CAVEATS[e.which % CAVEATS.length]!; break;
    case "partSet": { const all = [ps[0]!, ...caveats, sig]; all[e.at % all.length] = e.text; return join_(all); }
  }
  return join_([ps[0]!, ...caveats, sig]);
}

function within(got: Authority, orig: Authority): void {
  assert.is(got.tenant, orig.tenant);
  assert.is(got.grantId, orig.grantId);
  assert.ok(!got.admin || orig.admin);
  for (const p of got.permissions) assert.ok(orig.permissions.has(p), `permission ${p} appeared`);
  if (orig.services) {
    assert.ok(got.services, "a services limit disappeared");
    for (const s of got.services!) assert.ok(orig.services.has(s), `service ${s} appeared`);
  }
  assert.ok(got.expiresAt <= orig.expiresAt, "expiry got later");
}

test("1,500 random strings and random edits of real tokens: refused, or no wider than the original", async () => {
  const a = await openAuthority();
  try {
    const g = await a.caps.grant({ tenant: "acme", permissions: ["call", "read", "grant"], services: ["api", "db"], ttlMs: 3600_000 });
    const originals = [g.token, attenuate(g.token, { permissions: ["call", "read"] }), attenuate(attenuate(g.token, { services: ["api"] }), { expiresAt: T0 + 60_000 })];
    const auth = originals.map((t) => a.caps.verify(t));
    let verified = 0;
    const check = (text: string, orig?: Authority) => {
      let got: Authority;
      try {
        got = a.caps.verify(text);
      } catch (err) {
        assert.instance(err, SoloError);
        assert.is((err as SoloError).code, "UNAUTHENTICATED", (err as Error).message);
        return;
      }
      verified++;
      assert.ok(orig, "a random string verified");
      within(got, orig!);
    };
    fc.assert(fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.string({ unit: fc.constantFrom(...B64, "."), maxLength: 200 }).map((s) => "solo_" + s)), (s) => check(s)), { numRuns: 500, seed: 1 });
    fc.assert(
      fc.property(fc.nat(originals.length - 1), fc.array(edit, { minLength: 1, maxLength: 4 }), (i, edits) => {
        check(edits.reduce(apply, originals[i]!), auth[i]);
      }),
      { numRuns: 1000, seed: 2 },
    );
    // Edits that change nothing (a character set to itself, a swap of one caveat with itself) verify.
    assert.ok(verified < 200, `${verified} edited tokens verified: the edits are not reaching the MAC`);
  } finally {
    await a.close();
  }
});

test.run();
