// An event stream over gRPC can be resumed: a client that drops mid-stream and comes back with
// after=<the last id it saw> gets every event written meanwhile, once, in order, while events
// keep being written. Also: a server shutting down ends live streams with UNAVAILABLE.
import * as assert from "uvu/assert";
import { GrpcClient } from "../../host/client/index.ts";
import type { SoloEvent } from "../../host/index.ts";
import { rejects, test } from "../helpers.ts";
import { openServer } from "./server.ts";

const TOTAL = 200;

test("a follower that disconnects and resumes with after=<last id> misses nothing and sees nothing twice", async () => {
  const s = await openServer();
  const connect = () => GrpcClient.connect({ address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token: s.adminToken });
  const writer = await connect();
  let reader = await connect();
  try {
    // A marker to start from, so that no event can slip in before the stream is registered.
    await writer.setQuotas("acme", { services: 1000 });
    const stored: SoloEvent[] = [];
    for await (const e of writer.events({ tenant: "acme" })) stored.push(e);
    const marker = stored.at(-1)!.id;

    // Each setQuotas records one quota_changed event in acme.
    let written = 0;
    const writing = (async () => {
      for (let i = 1; i <= TOTAL; i++) {
        await writer.setQuotas("acme", { services: 1000 + i });
        written = i;
      }
    })();

    const seen: SoloEvent[] = [];
    const first = reader.events({ tenant: "acme", follow: true, after: marker });
    for await (const e of first) {
      seen.push(e);
      if (seen.length === 50) break; // leaving the loop closes the stream mid-way
    }
    first.close();
    await reader.close();
    // Disconnected while more events are written.
    const at = written;
    while (written < Math.min(TOTAL, at + 20)) await new Promise((r) => setTimeout(r, 5));

    reader = await connect();
    const second = reader.events({ tenant: "acme", follow: true, after: seen.at(-1)!.id });
    for await (const e of second) {
      seen.push(e);
      if (seen.length === TOTAL) break;
    }
    second.close();
    await writing;

    const all: SoloEvent[] = [];
    for await (const e of writer.events({ tenant: "acme", after: marker })) all.push(e);
    assert.is(all.length, TOTAL, "the log holds one event per write");
    assert.equal(seen.map((e) => e.id), all.map((e) => e.id), "the follower saw exactly the stored events, in order, once each");
    assert.equal(seen.at(-1), all.at(-1), "whole events, data included");
    assert.equal(seen.map((e) => (e.data.changed as { services: number }).services), Array.from({ length: TOTAL }, (_, i) => 1001 + i), "each write's own event");
  } finally {
    await reader.close();
    await writer.close();
    await s.close();
  }
});

test("closing the server ends a live stream with UNAVAILABLE, naming the id to resume after", async () => {
  const s = await openServer();
  const c = await GrpcClient.connect({ address: s.server.grpc, ca: s.ca, cert: s.cert, key: s.key, token: s.adminToken });
  try {
    await c.setQuotas("acme", { services: 7 });
    const stream = c.events({ tenant: "acme", follow: true, after: "0" });
    const it = stream[Symbol.asyncIterator]();
    const firstEvent = await it.next();
    assert.is(firstEvent.done, false);
    const closing = s.close();
    const e = await rejects(it.next(), "UNAVAILABLE");
    assert.is(e.details?.lastDelivered, firstEvent.value!.id);
    assert.match(e.message, new RegExp(`after=${firstEvent.value!.id}`));
    await closing;
  } finally {
    await c.close();
    await s.close();
  }
});

test.run();
