// REST: `POST /v1/<Method>` with the params as a JSON body answers the method's JSON, the same
// METHODS every transport calls. Errors answer STATUS[code].http with {"error": SoloError}.
// `POST /v1/Events` streams newline-delimited JSON (one event a line) until the stored events
// end, or, with follow, until the client goes; `POST /v1/Logs` streams log lines the same way. `GET /healthz` answers {"ok":true}. `GET /metrics`
// answers the Prometheus text of the host's metrics to a token with `read` (its tenant's series
// and the host-wide ones) or `admin` (everything); without one, 401 like any request.
//
// What a request may cost before it proves anything: its token is checked before a byte of its
// body is read (401, recorded, connection closed), bodies are counted against one listener-wide
// budget by their declared length (over it: 429 without reading), and the whole request must
// arrive within limits.requestTimeoutMs (http-server.ts).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { SoloError, toSoloError } from "../errors.ts";
import type { Host } from "../host.ts";
import { clip, RateBucket, rateLimited, type EdgeLimits } from "./edge-limits.ts";
import { STATUS } from "./error-mapping.ts";
import { METHODS, openEvents, openLogs, type Params } from "./methods.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../telemetry/index.ts";

export interface RestState {
  host: Host;
  limits: EdgeLimits;
  /** REST requests being answered now (shutdown waits for them). */
  inflight: number;
  closing: boolean;
  /** Body bytes reserved by requests being read now (bounded by limits.bodyBytesInFlight). */
  bodyBytes: number;
}

/** The bearer token of a request, or "" (the session then refuses with UNAUTHENTICATED). */
export function bearer(req: IncomingMessage): string {
  const h = req.headers.authorization;
  if (typeof h !== "string") return "";
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : "";
}

/** A certificate name fit to stand in an event's actor: no separators, spaces or control characters. */
const CN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * The client certificate's CN as the session's peer ("cn=NAME", as over gRPC) when our CA signed
 * it and the name is plain; nothing for anyone else.
 */
export function peerName(socket: Socket): string | undefined {
  const tls = socket as TLSSocket;
  if (typeof tls.getPeerCertificate !== "function" || tls.authorized !== true) return undefined;
  const cn: unknown = tls.getPeerCertificate()?.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn; // several CNs: the first, as over gRPC
  return typeof name === "string" && CN.test(name) ? `cn=${name}` : undefined;
}

const buckets = new WeakMap<Socket, RateBucket>();

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** An error answer; a request whose body was not read loses its connection (its bytes would be read as the next request). */
export function sendError(res: ServerResponse, err: unknown, status?: number): void {
  const e = toSoloError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (!res.req.complete) res.setHeader("connection", "close");
  sendJson(res, status ?? STATUS[e.code].http, { error: e.toJSON() });
}

/** A body over maxMessageBytes: answered 413 (the one status not from STATUS: HTTP has a word for it). */
class TooBig extends SoloError {
  constructor(max: number) {
    super("INVALID_ARGUMENT", `the request body is over ${max} bytes; send less (a source over the limit cannot be deployed through this server)`, { field: "body", limit: max });
  }
}

/**
 * The body as JSON params. An oversized body (413) or one past the listener's budget (429) is
 * refused before it is read; the bytes reserved are given back once the body is parsed or dropped.
 */
async function readParams(state: RestState, req: IncomingMessage): Promise<Params> {
  const max = state.limits.maxMessageBytes;
  const budget = state.limits.bodyBytesInFlight;
  const header = req.headers["content-length"];
  const declared = header === undefined ? undefined : Number(header);
  if (declared !== undefined && declared > max) throw new TooBig(max);
  const busy = () => new SoloError("RESOURCE_EXHAUSTED", `the server is reading over ${budget} bytes of request bodies now; retry in a moment`, { reason: "body_budget", limit: budget });
  // A declared length is reserved whole up front; a chunked body as its chunks arrive.
  let reserved = declared ?? 0;
  if (state.bodyBytes + reserved > budget) throw busy();
  state.bodyBytes += reserved;
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) throw new TooBig(max);
      if (size > reserved) {
        const more = size - reserved;
        if (state.bodyBytes + more > budget) throw busy();
        state.bodyBytes += more;
        reserved = size;
      }
      chunks.push(chunk);
    }
  } finally {
    state.bodyBytes -= reserved;
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SoloError("INVALID_ARGUMENT", `the request body is not JSON (${(err as Error).message}); send the params as a JSON object`, { field: "body" });
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new SoloError("INVALID_ARGUMENT", "the request body must be a JSON object of params", { field: "body" });
  return parsed as Params;
}

export async function handleRest(state: RestState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  state.inflight++;
  try {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/healthz") {
      if (req.method !== "GET" && req.method !== "HEAD") throw new SoloError("INVALID_ARGUMENT", "use GET /healthz");
      return sendJson(res, state.closing ? 503 : 200, { ok: !state.closing });
    }
    if (state.closing) throw new SoloError("UNAVAILABLE", "the server is shutting down; try again later");
    let bucket = buckets.get(req.socket);
    if (!bucket) buckets.set(req.socket, (bucket = new RateBucket(state.limits.requestsPerSecond)));
    if (!bucket.take()) throw rateLimited(state.limits.requestsPerSecond);
    if (url.pathname === "/metrics") return await serveMetrics(state, req, res);
    const m = /^\/v1\/([A-Za-z]+)$/.exec(url.pathname);
    const name = m?.[1];
    const method = name && Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
    if (!name || (!method && name !== "Events" && name !== "Logs")) {
      throw new SoloError("NOT_FOUND", `no such path ${clip(url.pathname)}; use POST /v1/<Method> with Method one of ${[...Object.keys(METHODS), "Events", "Logs"].join(", ")}, or GET /healthz, or GET /metrics`);
    }
    if (req.method !== "POST") throw new SoloError("INVALID_ARGUMENT", `use POST /v1/${name} with the params as a JSON body`);
    if (url.search) throw new SoloError("INVALID_ARGUMENT", "give params in the JSON body, not the URL (a token in a URL ends up in logs)", { field: "query" });
    // The token first: a caller without a live one gets 401 (recorded) before its body is read.
    const session = state.host.session(bearer(req), { peer: peerName(req.socket) });
    await session.authenticate();
    const params = await readParams(state, req);
    if (method) return sendJson(res, 200, await method(session, params));
    await streamEvents(name === "Logs" ? await openLogs(session, params) : await openEvents(session, params), res);
  } catch (err) {
    sendError(res, err, err instanceof TooBig ? 413 : undefined);
  } finally {
    state.inflight--;
  }
}

/** GET /metrics with `Authorization: Bearer TOKEN` (read or admin). */
async function serveMetrics(state: RestState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") throw new SoloError("INVALID_ARGUMENT", "use GET /metrics with `Authorization: Bearer TOKEN` (a token with read or admin)");
  const text = await state.host.session(bearer(req), { peer: peerName(req.socket) }).metrics();
  res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE, "content-length": Buffer.byteLength(text) });
  res.end(req.method === "HEAD" ? undefined : text);
}

/** Events (or log lines) as NDJSON; waits for the socket to drain, so a slow reader holds no more than a chunk. */
async function streamEvents(feed: AsyncIterable<unknown> & { close(): void }, res: ServerResponse): Promise<void> {
  const gone = () => feed.close();
  res.on("close", gone);
  // The client may have gone while the feed opened: 'close' has fired already and will not again.
  if (clientGone(res)) feed.close();
  try {
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.flushHeaders();
    try {
      for await (const e of feed) {
        if (clientGone(res)) break;
        if (!res.write(JSON.stringify(e) + "\n")) {
          if (clientGone(res)) break;
          await new Promise<void>((r) => {
            const done = () => {
              res.off("drain", done).off("close", done);
              r();
            };
            res.on("drain", done).on("close", done);
          });
        }
      }
    } catch (err) {
      // Headers are out: the failure travels as the last line.
      if (!clientGone(res)) res.write(JSON.stringify({ error: toSoloError(err).toJSON() }) + "\n");
    }
    res.end();
  } finally {
    res.off("close", gone);
  }
}

/** The response can no longer reach its client. */
function clientGone(res: ServerResponse): boolean {
  return res.destroyed || !res.socket || res.socket.destroyed;
}
