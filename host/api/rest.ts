// REST: `POST /v1/<Method>` with the params as a JSON body answers the method's JSON, the same
// METHODS every transport calls. Errors answer STATUS[code].http with {"error": SoloError}.
// `POST /v1/Events` streams newline-delimited JSON (one event a line) until the stored events
// end, or, with follow, until the client goes. `GET /healthz` answers {"ok":true}.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { SoloError, toSoloError } from "../errors.ts";
import type { Host } from "../host.ts";
import { RateBucket, rateLimited, type EdgeLimits } from "./edge-limits.ts";
import { STATUS } from "./error-mapping.ts";
import { METHODS, openEvents, type Params } from "./methods.ts";

export interface RestState {
  host: Host;
  limits: EdgeLimits;
  /** REST requests being answered now (shutdown waits for them). */
  inflight: number;
  closing: boolean;
}

/** The bearer token of a request, or "" (the session then refuses with UNAUTHENTICATED). */
export function bearer(req: IncomingMessage): string {
  const h = req.headers.authorization;
  if (typeof h !== "string") return "";
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1]! : "";
}

/** The client certificate's CN when our CA signed it; nothing for anyone else. */
export function peerName(socket: Socket): string | undefined {
  const tls = socket as TLSSocket;
  if (typeof tls.getPeerCertificate !== "function" || tls.authorized !== true) return undefined;
  const cn = tls.getPeerCertificate()?.subject?.CN;
  return typeof cn === "string" && cn ? cn : undefined;
}

const buckets = new WeakMap<Socket, RateBucket>();

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const e = toSoloError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, STATUS[e.code].http, { error: e.toJSON() });
}

/** The body as JSON params; refuses an oversized body (413) before reading all of it. */
async function readParams(req: IncomingMessage, res: ServerResponse, max: number): Promise<Params | undefined> {
  const declared = Number(req.headers["content-length"] ?? 0);
  const tooBig = () => new SoloError("INVALID_ARGUMENT", `the request body is over ${max} bytes; send less (a source over the limit cannot be deployed through this server)`, { field: "body", limit: max });
  if (declared > max) {
    res.setHeader("connection", "close");
    sendJson(res, 413, { error: tooBig().toJSON() });
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      res.setHeader("connection", "close");
      sendJson(res, 413, { error: tooBig().toJSON() });
      req.destroy();
      return undefined;
    }
    chunks.push(chunk);
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
    const m = /^\/v1\/([A-Za-z]+)$/.exec(url.pathname);
    const name = m?.[1];
    const method = name && Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
    if (!name || (!method && name !== "Events")) {
      throw new SoloError("NOT_FOUND", `no such path ${url.pathname}; use POST /v1/<Method> with Method one of ${[...Object.keys(METHODS), "Events"].join(", ")}, or GET /healthz`);
    }
    if (req.method !== "POST") throw new SoloError("INVALID_ARGUMENT", `use POST /v1/${name} with the params as a JSON body`);
    if (url.search) throw new SoloError("INVALID_ARGUMENT", "give params in the JSON body, not the URL (a token in a URL ends up in logs)", { field: "query" });
    const params = await readParams(req, res, state.limits.maxMessageBytes);
    if (!params) return;
    const session = state.host.session(bearer(req), { peer: peerName(req.socket) });
    if (method) return sendJson(res, 200, await method(session, params));
    await streamEvents(session, params, res);
  } catch (err) {
    sendError(res, err);
  } finally {
    state.inflight--;
  }
}

/** Events as NDJSON; waits for the socket to drain, so a slow reader holds no more than a chunk. */
async function streamEvents(session: ReturnType<Host["session"]>, params: Params, res: ServerResponse): Promise<void> {
  const feed = await openEvents(session, params);
  const gone = () => feed.close();
  res.on("close", gone);
  try {
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.flushHeaders();
    try {
      for await (const e of feed) {
        if (res.destroyed) break;
        if (!res.write(JSON.stringify(e) + "\n")) await new Promise((r) => res.once("drain", r).once("close", r));
      }
    } catch (err) {
      // Headers are out: the failure travels as the last line.
      if (!res.destroyed) res.write(JSON.stringify({ error: toSoloError(err).toJSON() }) + "\n");
    }
    res.end();
  } finally {
    res.off("close", gone);
  }
}
