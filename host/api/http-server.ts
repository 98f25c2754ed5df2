// HTTPS on one port: REST under /v1/ (POST /v1/<Method>, a JSON body of params), GET /healthz,
// and JSON-RPC 2.0 over a WebSocket at /v1/ws. TLS asks for a client certificate but does not
// require one: a certificate signed by the data directory's CA names the actor (its CN), any other
// is ignored. The token travels in `Authorization: Bearer`, never in the URL. Plain HTTP only on
// loopback addresses (`insecure`), for local tools that cannot do TLS.
//
// Bounded for callers who never prove anything: at most limits.maxConnections sockets (REST and
// WebSocket together), a TLS handshake within limits.handshakeTimeoutMs, a request's headers and
// body within limits.requestTimeoutMs, a WebSocket upgrade's header token checked before the
// upgrade. close() cuts every socket still open after its grace, whatever state it is in.
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { WebSocketServer } from "ws";
import { SoloError, toSoloError } from "../errors.ts";
import type { Listener, ListenerOptions } from "./server.ts";
import { bearer, handleRest, peerName, type RestState } from "./rest.ts";
import { WsSession } from "./ws-session.ts";

export const WS_PATH = "/v1/ws";

/** "HOST:PORT" (IPv6 in brackets) → its parts. */
export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  const port = Number(address.slice(at + 1));
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535 || !host) {
    throw new SoloError("INVALID_ARGUMENT", `listen address must be HOST:PORT (e.g. 127.0.0.1:8443, [::1]:0); got ${JSON.stringify(address)}`, { field: "http" });
  }
  return { host, port };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const REASON: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 408: "Request Timeout", 503: "Service Unavailable" };

/** A plain HTTP answer with the error body written on a bare socket, then the socket closed. */
function answerRaw(socket: Socket, err: SoloError, status: number): void {
  if (!socket.writable) return void socket.destroy();
  const body = JSON.stringify({ error: err.toJSON() });
  socket.end(`HTTP/1.1 ${status} ${REASON[status] ?? "Error"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  // A client that does not read the answer does not keep the socket.
  setTimeout(() => socket.destroy(), 1000).unref();
}

export async function startHttp(o: ListenerOptions & { insecure?: boolean }): Promise<Listener> {
  const { host: bindHost, port } = splitAddress(o.address);
  if (o.insecure && !isLoopback(bindHost)) {
    throw new SoloError("INVALID_ARGUMENT", `plain HTTP is allowed only on a loopback address (127.0.0.1, ::1, localhost), not ${bindHost}; drop --insecure-http to serve HTTPS`, { field: "http" });
  }
  const limits = o.limits;
  const state: RestState = { host: o.host, limits, inflight: 0, closing: false, bodyBytes: 0 };
  const handler = (req: IncomingMessage, res: ServerResponse): void => void handleRest(state, req, res);
  // The request (headers and body) must arrive in time; the answer is not bounded here (a call's
  // own deadline bounds it, an event stream lasts as long as its client reads). Node checks these
  // every connectionsCheckingInterval.
  const timing = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: Math.min(limits.requestTimeoutMs, 20_000),
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.requestTimeoutMs / 4))),
  };
  const server: HttpServer = o.insecure
    ? createHttpServer(timing, handler)
    : createHttpsServer({ ...timing, key: readFileSync(o.tls.serverKey), cert: readFileSync(o.tls.server), ca: readFileSync(o.tls.ca), requestCert: true, rejectUnauthorized: false, handshakeTimeout: limits.handshakeTimeoutMs }, handler);
  // Between keep-alive requests a connection may sit idle this long.
  server.keepAliveTimeout = limits.idleTimeoutMs;
  // Past it, new connections are closed as they are accepted (REST and WebSocket alike).
  server.maxConnections = limits.maxConnections;
  // Every socket, whatever it has said so far, so close() can cut what is left.
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes, perMessageDeflate: false });
  const sessions = new Set<WsSession>();
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => {});
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== WS_PATH) return answerRaw(socket, new SoloError("NOT_FOUND", `no WebSocket at ${url.pathname}; connect to ${WS_PATH}`), 404);
    if (url.searchParams.has("token") || url.searchParams.has("access_token")) {
      return answerRaw(socket, new SoloError("INVALID_ARGUMENT", "a token in the URL is refused (URLs end up in logs); send it as `Authorization: Bearer TOKEN` at the upgrade, or as the first request `Authenticate {token}`", { field: "token" }), 400);
    }
    if (state.closing) return answerRaw(socket, new SoloError("UNAVAILABLE", "the server is shutting down; connect again later"), 503);
    void upgrade(req, socket, head);
  });
  /** A token in the header is checked before the upgrade (401, recorded); none: Authenticate comes later. */
  const upgrade = async (req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> => {
    const token = bearer(req);
    const peer = peerName(socket);
    if (req.headers.authorization !== undefined) {
      try {
        await o.host.session(token, { peer }).authenticate();
      } catch (err) {
        return answerRaw(socket, toSoloError(err), 401);
      }
    }
    if (socket.destroyed) return;
    if (state.closing) return answerRaw(socket, new SoloError("UNAVAILABLE", "the server is shutting down; connect again later"), 503);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const s = new WsSession(o.host, ws, limits, token, peer, () => sessions.delete(s));
      sessions.add(s);
    });
  };
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    // Headers or body too slow: say so when nothing was answered yet, then drop the socket.
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT" && socket.writable && socket.bytesWritten === 0) {
      return answerRaw(socket, new SoloError("DEADLINE_EXCEEDED", `the request did not arrive within ${limits.requestTimeoutMs} ms (headers and body); send it faster, or send less`, { reason: "request_timeout", limit: limits.requestTimeoutMs }), 408);
    }
    socket.destroy();
  });
  server.on("tlsClientError", () => {});

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new SoloError("UNAVAILABLE", `cannot listen on ${o.address}: ${err.code ?? err.message}; pick another port or stop what holds it`, { field: "http" }));
    server.once("error", onError);
    server.listen(port, bindHost, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = bound && typeof bound === "object" ? bound.port : port;
  const shown = bindHost.includes(":") ? `[${bindHost}]` : bindHost;
  let closed: Promise<void> | undefined;
  return {
    address: `${o.insecure ? "http" : "https"}://${shown}:${boundPort}`,
    close(graceMs: number) {
      closed ??= (async () => {
        state.closing = true;
        const stopped = new Promise<void>((r) => server.close(() => r()));
        server.closeIdleConnections();
        for (const s of sessions) s.drain();
        // Requests in flight (REST and WebSocket) may finish within graceMs; then cut the rest.
        const until = Date.now() + graceMs;
        while (Date.now() < until && (state.inflight > 0 || [...sessions].some((s) => s.busy()))) {
          await new Promise((r) => setTimeout(r, 20));
        }
        for (const s of sessions) s.terminate("the server is shutting down");
        server.closeAllConnections();
        wss.close();
        // WebSockets got their close frame; give them a moment, then cut every socket left,
        // whatever it is doing (mid-handshake, idle after TLS, a client that does not read).
        const cut = Date.now() + 200;
        while (sockets.size > 0 && Date.now() < cut) await new Promise((r) => setTimeout(r, 20));
        for (const socket of sockets) socket.destroy();
        // server.close() calls back once every connection is gone: they all are now, but never wait on it for ever.
        await Promise.race([stopped, new Promise((r) => setTimeout(r, 1000).unref())]);
      })();
      return closed;
    },
  };
}
