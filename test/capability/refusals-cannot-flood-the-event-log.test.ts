// Refused requests are recorded, but no caller can flood the log with them or write into another
// tenant's log: callers without a live token share one budget in the host's own log; a live
// token's refusals are charged to its grant and written to its own tenant's log.
import * as assert from "uvu/assert";
import { HOST_TENANT } from "../../host/capability/index.ts";
import { SoloError } from "../../host/index.ts";
import { example, openHost, test } from "../helpers.ts";

const HOUR = 3600_000;

async function refused(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as SoloError).code;
  }
  return "success";
}

test("bad tokens naming 200 made-up tenants: a bounded number of events, all in the host's log, none in those tenants'", async () => {
  const t = await openHost({ workers: 1 });
  try {
    const started = performance.now();
    const codes = new Set<string>();
    for (let i = 0; i < 2000; i++) codes.add(await refused(t.host.session(`solo_forged${i}`).call(`made-up-${i % 200}`, "svc", "x")));
    const seconds = (performance.now() - started) / 1000;
    assert.equal([...codes], ["UNAUTHENTICATED"]);
    const denials = await t.host.eventStore.list({ type: "capability_denied" });
    // One budget for every caller without a live token: a burst of 20, then 10 a second.
    assert.ok(denials.length <= 20 + Math.ceil(seconds * 10) + 1, `${denials.length} events in ${seconds.toFixed(1)} s`);
    assert.ok(denials.length >= 20, "the first ones are recorded");
    assert.ok(denials.every((e) => e.tenant === HOST_TENANT), "all in the host's own log");
    for (const name of ["made-up-0", "made-up-17", "made-up-199"]) assert.equal(await t.host.eventStore.list({ tenant: name }), []);
    // What was left out is counted in the next event written (after the budget refills: 10/s).
    await new Promise((r) => setTimeout(r, 250));
    await refused(t.host.session("solo_forged-after").call("made-up-0", "svc", "x"));
    const all = await t.host.eventStore.list({ type: "capability_denied" });
    const next = all.at(-1)!;
    assert.is(next.tenant, HOST_TENANT);
    assert.ok(typeof next.data.suppressed === "number" && (next.data.suppressed as number) > 0, JSON.stringify(next.data));
    // Every refusal is accounted for: written, or counted in a later event.
    const counted = all.reduce((n, e) => n + 1 + ((e.data.suppressed as number | undefined) ?? 0), 0);
    assert.is(counted, 2001);
  } finally {
    await t.close();
  }
});

test("a live token refused on another tenant is recorded in its own tenant's log; the victim's log and budget are untouched", async () => {
  const t = await openHost({ workers: 1 });
  try {
    await t.host.deploy({ tenant: "victim", service: "echo", source: example("echo.as.ts"), file: "echo.as.ts" });
    const evil = (await t.host.grant({ tenant: "evil", permissions: ["call", "read", "kill"], ttlMs: HOUR })).token;
    // Far past its own budget and the host-wide one (200 at once): only its own is spent.
    for (let i = 0; i < 2000; i++) assert.is(await refused(t.host.session(evil).kill("victim", "echo")), "PERMISSION_DENIED");
    const inVictim = await t.host.eventStore.list({ tenant: "victim", type: "capability_denied" });
    assert.equal(inVictim, [], "nothing written into the victim's log");
    const inEvil = await t.host.eventStore.list({ tenant: "evil", type: "capability_denied" });
    assert.ok(inEvil.length >= 1 && inEvil.length <= 40, `${inEvil.length} in evil's own log (its budget)`);
    assert.is(inEvil[0]!.data.tenant, "victim", "the event names the tenant it asked for");
    assert.is(inEvil[0]!.data.missing, "tenant");
    // The victim's own refusals are still recorded in full: its budget was not spent by evil.
    const weak = (await t.host.grant({ tenant: "victim", permissions: ["read"], ttlMs: HOUR })).token;
    assert.is(await refused(t.host.session(weak).kill("victim", "echo")), "PERMISSION_DENIED");
    const mine = await t.host.eventStore.list({ tenant: "victim", type: "capability_denied" });
    assert.is(mine.length, 1);
    assert.is(mine[0]!.service, "echo");
    assert.is(mine[0]!.data.missing, "permission");
    assert.is(mine[0]!.data.suppressed, undefined, "nothing of evil's flood is counted against (or left out before) the victim's refusal");
    assert.is((await t.host.call("victim", "echo", "still here")).output, "still here");
  } finally {
    await t.close();
  }
});

test("a token narrowed to services lists only those services and reads events only by naming one", async () => {
  const t = await openHost({ workers: 1 });
  try {
    for (const s of ["a", "b", "c"]) await t.host.deploy({ tenant: "acme", service: s, source: example("echo.as.ts"), file: `${s}.as.ts` });
    const narrow = t.host.session((await t.host.grant({ tenant: "acme", permissions: ["read", "call"], services: ["a", "c"], ttlMs: HOUR })).token);
    assert.equal((await narrow.list("acme")).map((s) => s.service), ["a", "c"]);
    assert.is(await refused(narrow.list("other")), "PERMISSION_DENIED");
    assert.is(await refused(narrow.status("acme", "b")), "PERMISSION_DENIED");
    assert.is(await refused(narrow.events("acme")), "PERMISSION_DENIED");
    const seen = [];
    for await (const e of await narrow.events("acme", { service: "a" })) seen.push(e);
    assert.ok(seen.length >= 1 && seen.every((e) => e.service === "a"));
    // An event of a service outside the token: the same answer as a missing one.
    const ofB = (await t.host.eventStore.list({ tenant: "acme", service: "b" }))[0]!;
    assert.is(await refused(narrow.event("acme", ofB.id)), "NOT_FOUND");
    assert.is((await narrow.event("acme", seen[0]!.id)).id, seen[0]!.id);
  } finally {
    await t.close();
  }
});

test.run();
