// A live event (or log) stream lives only as long as its token: revoked or expired while the
// stream is open, it ends with UNAUTHENTICATED (over gRPC and over WebSocket), and nothing written
// after that reaches it.
import * as assert from "uvu/assert";
import { GrpcClient } from "../../host/client/index.ts";
import { WsClient, wsUrl } from "../../host/client/ws-client.ts";
import type { SoloClient } from "../../host/client/types.ts";
import { SoloError, type SoloEvent } from "../../host/index.ts";
import { example, test } from "../helpers.ts";
import { openServer, type TestServer } from "./server.ts";

let now = Date.now();
let ts: TestServer;
const clients: SoloClient[] = [];
const transports: [string, (token: string) => Promise<SoloClient>][] = [
  ["gRPC", (token) => GrpcClient.connect({ address: ts.server.grpc, ca: ts.ca, cert: ts.cert, key: ts.key, token })],
  ["WebSocket", (token) => WsClient.connect({ url: wsUrl(ts.server.http), ca: ts.ca, cert: ts.cert, key: ts.key, token })],
];

/** Reads the stream until it ends (or 20 s pass: then it did not end); what it saw and how it ended. */
async function drain(stream: AsyncIterable<unknown> & { close(): void }): Promise<{ seen: SoloEvent[]; ended: SoloError | "done" | "still open" }> {
  const seen: SoloEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  const stillOpen = new Promise<"still open">((r) => (timer = setTimeout(() => r("still open"), 20_000)));
  const read = (async () => {
    try {
      for await (const e of stream) seen.push(e as SoloEvent);
    } catch (err) {
      return err as SoloError;
    }
    return "done" as const;
  })();
  const ended = await Promise.race([read, stillOpen]);
  clearTimeout(timer);
  if (ended === "still open") stream.close();
  return { seen, ended };
}

test.before(async () => {
  ts = await openServer({ clock: () => now });
  const admin = await GrpcClient.connect({ address: ts.server.grpc, ca: ts.ca, cert: ts.cert, key: ts.key, token: ts.adminToken });
  clients.push(admin);
  await admin.deploy({ tenant: "acme", service: "echo", source: example("echo.as.ts"), file: "echo.as.ts" });
});

test.after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await ts.close();
});

for (const [name, connect] of transports) {
  test(`${name}: a follow stream whose token is revoked ends with UNAUTHENTICATED and gets nothing later`, async () => {
    const granted = await ts.server.host.grant({ tenant: "acme", permissions: ["read"], ttlMs: 3_600_000 });
    const c = await connect(granted.token);
    clients.push(c);
    const from = ts.server.host.eventStore.lastId() ?? undefined;
    const reading = drain(c.events({ tenant: "acme", follow: true, after: from }));
    await new Promise((r) => setTimeout(r, 300));
    await ts.server.host.revoke(granted.id);
    // Written after the revocation: must never reach the stream.
    await ts.server.host.setQuotas("acme", { services: 100 });
    const { seen, ended } = await reading;
    assert.instance(ended, SoloError, "the stream ended with an error");
    assert.is((ended as SoloError).code, "UNAUTHENTICATED");
    assert.not.ok(seen.some((e) => e.type === "quota_changed"), "nothing written after the revocation was delivered");
  });

  test(`${name}: a followed Logs stream whose token is revoked ends with UNAUTHENTICATED`, async () => {
    const granted = await ts.server.host.grant({ tenant: "acme", permissions: ["read"], ttlMs: 3_600_000 });
    const c = await connect(granted.token);
    clients.push(c);
    const reading = drain(c.logs({ tenant: "acme", service: "echo", follow: true, tail: 0 }));
    await new Promise((r) => setTimeout(r, 300));
    await ts.server.host.revoke(granted.id);
    const { ended } = await reading;
    assert.instance(ended, SoloError, "the stream ended with an error");
    assert.is((ended as SoloError).code, "UNAUTHENTICATED");
  });

  test(`${name}: a follow stream whose token expires while it is idle ends with UNAUTHENTICATED`, async () => {
    const granted = await ts.server.host.grant({ tenant: "acme", permissions: ["read"], ttlMs: 60_000 });
    const c = await connect(granted.token);
    clients.push(c);
    const reading = drain(c.events({ tenant: "acme", follow: true }));
    await new Promise((r) => setTimeout(r, 300));
    now += 120_000; // past its expiry; nothing is written, so only the idle check can see it
    const { ended } = await reading;
    assert.instance(ended, SoloError);
    assert.is((ended as SoloError).code, "UNAUTHENTICATED");
  });
}

test.run();
