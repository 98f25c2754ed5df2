// The gRPC listener: proto/solo.proto over mutual TLS. A client must show a certificate signed by
// the data directory's CA (refused at the handshake otherwise); its subject CN names the peer in
// events ("cn=admin:<tokenId>"). Each request's token (metadata `authorization: Bearer TOKEN`)
// makes a session, and the request goes to the same METHODS every transport uses. A failure is
// the gRPC status of its SoloError code, with the SoloError itself in the `solo-error-bin`
// trailer. Health (grpc.health.v1) and server reflection are served beside it.
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { ReflectionService } from "@grpc/reflection";
import { SoloError, toSoloError } from "../errors.ts";
import type { SoloEvent } from "../events/index.ts";
import type { AuditReport } from "../audit/index.ts";
import { RateBucket, rateLimited } from "./edge-limits.ts";
import { STATUS } from "./error-mapping.ts";
import { ERROR_TRAILER, SERVICE_NAME, encodeErrorDetail, loadSoloProto, plain } from "./grpc-wire.ts";
import { METHODS, openEvents, openLogs, type EventFeed, type Params } from "./methods.ts";
import type { Session } from "../session/index.ts";
import type { LogFeed } from "../logs/index.ts";
import type { Listener, ListenerOptions } from "./server.ts";

/** A gRPC status carrying the SoloError: status from its code, message, and the trailer. */
export function grpcStatus(err: unknown): Partial<grpc.StatusObject> {
  const e = toSoloError(err);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_TRAILER, encodeErrorDetail(e));
  return { code: STATUS[e.code].grpc, details: e.message, metadata };
}

/** Request message → METHODS params (camelCase already; names differ only where listed). */
function params(method: string, request: unknown): Params {
  const p = plain<Params>(request, method === "Deploy" || method === "Validate" || method === "Swap" || method === "Replace" ? ["source"] : []);
  if (method === "Revoke") return { token: p.tokenOrId ?? "" };
  return p;
}

/** Replies whose shape differs on gRPC: an audit's free-form details travel as JSON text. */
const WIRE_REPLY: Record<string, (r: unknown) => unknown> = {
  Audit: (r) => {
    const a = r as AuditReport;
    const components: Record<string, unknown> = {};
    for (const [name, c] of Object.entries(a.components)) components[name] = { status: c.status, summary: c.summary, detailsJson: JSON.stringify(c.details) };
    return { status: a.status, checkedAt: a.checkedAt, durationMs: a.durationMs, components };
  },
};

function wireEvent(e: SoloEvent): Record<string, unknown> {
  return { id: e.id, time: e.time, type: e.type, tenant: e.tenant, service: e.service ?? "", actor: e.actor, dataJson: JSON.stringify(e.data ?? {}) };
}

function bearer(metadata: grpc.Metadata): string {
  const v = metadata.get("authorization")[0];
  if (typeof v !== "string") return "";
  const m = /^Bearer\s+(.+)$/i.exec(v.trim());
  return m ? m[1]!.trim() : "";
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>;

/** What a certificate's CN may be to name a peer in events (the same rule on every listener). */
const PEER_CN = /^[A-Za-z0-9_.-]{1,64}$/;

/** The client certificate's CN, as the session's peer ("cn=NAME"); undefined without a plain one. */
function peerName(call: AnyCall): string | undefined {
  const cn = call.getAuthContext()?.sslPeerCertificate?.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return typeof name === "string" && PEER_CN.test(name) ? `cn=${name}` : undefined;
}

/** A request whose bytes are not the method's message: answered INVALID_ARGUMENT by the handler. */
class Undecodable {
  constructor(readonly reason: string) {}
}

/**
 * The service definition with forgiving request decoders: grpc-js answers a decoder's exception
 * with INTERNAL and no Solo error; a marker lets the handler answer INVALID_ARGUMENT properly.
 */
function withDecodeErrors(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service)) {
    const decode = def.requestDeserialize;
    out[name] = {
      ...def,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return decode(bytes);
        } catch (err) {
          return new Undecodable((err as Error).message);
        }
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

function undecodable(name: string, request: unknown): SoloError | undefined {
  if (!(request instanceof Undecodable)) return undefined;
  return new SoloError("INVALID_ARGUMENT", `the ${name} request is not a valid solo.v1 message (${request.reason.slice(0, 200)}); send the message proto/solo.proto defines`, { field: "request" });
}

/** A feed a stream method sends: read in order, closed once the stream ends either way. */
type Feed<T> = AsyncIterable<T> & { close(): void };

/**
 * Sends `feed` on `call` until it ends, the client cancels, or shutdown calls the hook this adds to
 * `streams` (the error it ends with is `onShutdown(err)`). Waits for the client to read when
 * grpc-js's buffer is full, so a slow reader holds one message, not the whole feed.
 */
async function serveFeed<T>(call: grpc.ServerWritableStream<unknown, unknown>, feed: Feed<T>, toWire: (item: T) => unknown, streams: Set<(err: SoloError) => void>, onShutdown: (err: SoloError) => SoloError = (err) => err): Promise<void> {
  let ended = false;
  const stop = (err?: SoloError) => {
    if (ended) return;
    ended = true;
    feed.close();
    if (err && !call.cancelled) call.emit("error", grpcStatus(err));
  };
  const shutdown = (err: SoloError) => stop(onShutdown(err));
  streams.add(shutdown);
  call.on("cancelled", () => stop());
  try {
    if (call.cancelled) return stop();
    for await (const item of feed) {
      if (ended) break;
      // Backpressure: wait for the client to read before pulling the next item.
      if (!call.write(toWire(item))) await new Promise<void>((resolve) => {
        const done = () => { call.off("drain", done); call.off("cancelled", done); resolve(); };
        call.on("drain", done);
        call.on("cancelled", done);
      });
    }
    if (!ended) {
      ended = true;
      call.end();
    }
  } catch (err) {
    stop(toSoloError(err));
  } finally {
    streams.delete(shutdown);
    feed.close();
  }
}

export async function startGrpc(o: ListenerOptions & { insecure?: boolean }): Promise<Listener> {
  const { host, limits } = o;
  const definition = loadSoloProto(false);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": limits.maxMessageBytes,
    "grpc.max_send_message_length": limits.maxMessageBytes,
    "grpc.max_concurrent_streams": limits.maxStreamsPerConnection,
    "grpc.max_connection_idle_ms": limits.idleTimeoutMs,
  });

  let closing: Promise<void> | undefined;
  // One request budget per connection (its remote address and port). A bucket unused for a
  // second is full again, so forgetting it then loses nothing; a sweep keeps the map small.
  const buckets = new Map<string, { bucket: RateBucket; at: number }>();
  const sweep = setInterval(() => {
    const old = performance.now() - 2000;
    for (const [k, b] of buckets) if (b.at < old) buckets.delete(k);
  }, 5000);
  sweep.unref();
  const admit = (call: AnyCall): SoloError | undefined => {
    if (closing) return new SoloError("UNAVAILABLE", "the server is shutting down; retry against its next start");
    const key = call.getPeer();
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { bucket: new RateBucket(limits.requestsPerSecond), at: 0 }));
    b.at = performance.now();
    return b.bucket.take() ? undefined : rateLimited(limits.requestsPerSecond);
  };
  const session = (call: AnyCall) => host.session(bearer(call.metadata), { peer: peerName(call) });

  const handlers: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(METHODS)) {
    const wire = WIRE_REPLY[name];
    handlers[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const refused = admit(call) ?? undecodable(name, call.request);
      if (refused) return callback(grpcStatus(refused));
      let p: Promise<unknown>;
      try {
        p = method(session(call), params(name, call.request));
      } catch (err) {
        return callback(grpcStatus(err));
      }
      p.then(
        // The Host's answers are already the reply messages' shapes (camelCase, numbers).
        (r) => callback(null, wire ? wire(r) : r),
        (err) => callback(grpcStatus(err)),
      );
    };
  }

  // Open streams, so that shutdown can end them with UNAVAILABLE (events: and the id to resume at).
  const streams = new Set<(err: SoloError) => void>();
  /** A stream method: the same refusals as a unary one, then `open` gives the feed serveFeed sends. */
  const feedHandler = <F extends Feed<unknown>>(name: string, open: (s: Session, p: Params) => Promise<F>, serve: (call: grpc.ServerWritableStream<unknown, unknown>, feed: F) => Promise<void>) =>
    async (call: grpc.ServerWritableStream<unknown, unknown>) => {
      const refused = admit(call) ?? undecodable(name, call.request);
      if (refused) return void call.emit("error", grpcStatus(refused));
      let feed: F;
      try {
        feed = await open(session(call), params(name, call.request));
      } catch (err) {
        return void call.emit("error", grpcStatus(err));
      }
      await serve(call, feed);
    };

  handlers.Events = feedHandler("Events", openEvents, (call, feed: EventFeed) => {
    let last: string | undefined;
    const toWire = (e: SoloEvent) => {
      last = e.id;
      return wireEvent(e);
    };
    return serveFeed(call, feed, toWire, streams, (err) =>
      new SoloError(err.code, `${err.message}; resume with after=${last ?? "(the start)"}`, { ...err.details, lastDelivered: last ?? null }));
  });
  // Log lines: no id to resume at (lines are kept in memory only).
  handlers.Logs = feedHandler("Logs", openLogs, (call, feed: LogFeed) => serveFeed(call, feed, (l) => ({ ...l, dropped: l.dropped ?? 0 }), streams));

  server.addService(withDecodeErrors(definition[SERVICE_NAME] as grpc.ServiceDefinition), handlers);
  const health = new HealthImplementation({ "": "SERVING", [SERVICE_NAME]: "SERVING" });
  health.addToServer(server);
  new ReflectionService(definition).addToServer(server);

  const credentials = grpc.ServerCredentials.createSsl(readFileSync(o.tls.ca), [{ cert_chain: readFileSync(o.tls.server), private_key: readFileSync(o.tls.serverKey) }], true);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(o.address, credentials, (err, p) => (err ? reject(new SoloError("UNAVAILABLE", `cannot listen for gRPC on ${o.address}: ${err.message}; pick another address or port`, { address: o.address })) : resolve(p)));
  });
  const hostPart = o.address.slice(0, o.address.lastIndexOf(":"));

  return {
    address: `${hostPart}:${port}`,
    close(graceMs: number) {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(sweep);
        health.setStatus("", "NOT_SERVING");
        health.setStatus(SERVICE_NAME, "NOT_SERVING");
        // Live streams never finish by themselves: end them now, telling where to resume.
        const bye = new SoloError("UNAVAILABLE", "the server is shutting down");
        for (const s of [...streams]) s(bye);
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, Math.max(0, graceMs));
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}
