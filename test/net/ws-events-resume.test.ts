// Events over WebSocket: a follower whose socket drops mid-stream resumes with after=<last id>
// and gets every event exactly once, while events keep being written; one socket carries
// several subscriptions, each with only its own events.
import * as assert from "uvu/assert";
import type WebSocket from "ws";
import { WsClient } from "../../host/client/ws-client.ts";
import type { SoloEvent } from "../../host/index.ts";
import { rejects, test } from "../helpers.ts";
import { openHttpServer, rawSocket } from "./ws-helpers.ts";

/** Writes `n` quota_changed events into the tenant, one after another. */
async function writeEvents(t: { host: { session(token: string): { setQuotas(tenant: string, q: object): Promise<unknown> } } }, token: string, tenant: string, n: number): Promise<void> {
  const s = t.host.session(token);
  for (let i = 0; i < n; i++) await s.setQuotas(tenant, { services: 100 + i });
}

async function stored(t: { host: { events(tenant: string): AsyncIterable<SoloEvent> } }, tenant: string): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of t.host.events(tenant)) out.push(e);
  return out;
}

test("a follower that drops mid-stream resumes after its last id: nothing missed, nothing twice", async () => {
  const t = await openHttpServer();
  try {
    const N = 400;
    const writing = writeEvents(t, t.adminToken, "a", N);
    const first = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    const seen: SoloEvent[] = [];
    for await (const e of first.events({ tenant: "a", follow: true })) {
      seen.push(e);
      if (seen.length === 50) {
        // The socket dies under the stream (no Unsubscribe, no close handshake).
        (first as unknown as { ws: WebSocket }).ws.terminate();
        break;
      }
    }
    const second = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    const resumed = second.events({ tenant: "a", follow: true, after: seen.at(-1)!.id });
    await writing;
    const total = (await stored(t, "a")).length;
    assert.is(total, N);
    for await (const e of resumed) {
      seen.push(e);
      if (seen.length === total) break;
    }
    const ids = seen.map((e) => e.id);
    assert.equal(ids, (await stored(t, "a")).map((e) => e.id));
    assert.is(new Set(ids).size, N);
    await first.close();
    await second.close();
  } finally {
    await t.close();
  }
});

test("one socket carries several subscriptions, each with only its events; stored-only ones end", async () => {
  const t = await openHttpServer();
  try {
    await writeEvents(t, t.adminToken, "a", 5);
    await writeEvents(t, t.adminToken, "b", 3);
    const c = await WsClient.connect({ url: t.url, ca: t.ca, token: t.adminToken });
    const liveA = c.events({ tenant: "a", follow: true });
    const liveB = c.events({ tenant: "b", follow: true });
    const storedA: SoloEvent[] = [];
    for await (const e of c.events({ tenant: "a" })) storedA.push(e);
    assert.is(storedA.length, 5);
    const more = Promise.all([writeEvents(t, t.adminToken, "a", 5), writeEvents(t, t.adminToken, "b", 5)]);
    const read = async (s: AsyncIterable<SoloEvent>, n: number) => {
      const out: SoloEvent[] = [];
      for await (const e of s) {
        out.push(e);
        if (out.length === n) break;
      }
      return out;
    };
    const [a, b] = await Promise.all([read(liveA, 10), read(liveB, 8)]);
    await more;
    assert.is(a.length, 10);
    assert.is(b.length, 8);
    assert.ok(a.every((e) => e.tenant === "a"));
    assert.ok(b.every((e) => e.tenant === "b"));
    assert.equal(a.map((e) => e.id), (await stored(t, "a")).map((e) => e.id));
    assert.equal(b.map((e) => e.id), (await stored(t, "b")).map((e) => e.id));
    await c.close();
  } finally {
    await t.close();
  }
});

test("subscriptions per socket are capped; Unsubscribe frees one and stops its events", async () => {
  const t = await openHttpServer({ limits: { maxStreamsPerConnection: 2 } });
  try {
    const s = await rawSocket(t, t.adminToken);
    const req = (id: number, method: string, params: object) => s.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    req(1, "Events", { tenant: "a", follow: true });
    const sub1 = (await s.next()).result.subscription;
    req(2, "Events", { tenant: "b", follow: true });
    const sub2 = (await s.next()).result.subscription;
    assert.is.not(sub1, sub2);
    req(3, "Events", { tenant: "c", follow: true });
    const over = await s.next();
    assert.is(over.id, 3);
    assert.is(over.error.data.code, "RESOURCE_EXHAUSTED");
    req(4, "Unsubscribe", { subscription: sub1 });
    assert.equal((await s.next()).result, {});
    req(5, "Unsubscribe", { subscription: sub1 });
    assert.is((await s.next()).error.data.code, "NOT_FOUND");
    req(6, "Events", { tenant: "c", follow: true });
    const sub3 = (await s.next()).result.subscription;
    // Events for a (unsubscribed) never come; b's and c's do, as notifications naming their subscription.
    await writeEvents(t, t.adminToken, "a", 1);
    await writeEvents(t, t.adminToken, "b", 1);
    const f = await s.next();
    assert.is(f.method, "event");
    assert.is(f.params.subscription, sub2);
    assert.is(f.params.event.tenant, "b");
    await writeEvents(t, t.adminToken, "c", 1);
    const g = await s.next();
    assert.is(g.params.subscription, sub3);
    assert.is(g.params.event.tenant, "c");
    // A stored-only stream ends with an `end` notification.
    req(7, "Unsubscribe", { subscription: sub2 });
    await s.next();
    req(8, "Events", { tenant: "b" });
    const sub4 = (await s.next()).result.subscription;
    const e1 = await s.next();
    assert.is(e1.params.subscription, sub4);
    assert.equal(await s.next(), { jsonrpc: "2.0", method: "end", params: { subscription: sub4 } });
    s.close();
    await s.closed;

    // A tenant token may not follow another tenant: the Events request itself is refused.
    const c = await WsClient.connect({ url: t.url, ca: t.ca, token: (await t.host.session(t.adminToken).grant({ tenant: "a", permissions: ["read"], ttlMs: 60_000 })).token });
    await rejects(c.events({ tenant: "b", follow: true })[Symbol.asyncIterator]().next(), "PERMISSION_DENIED");
    await c.close();
  } finally {
    await t.close();
  }
});

test.run();
