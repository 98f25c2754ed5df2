// The HTTPS listener alone on port 0 (the host, certificates and admin token as `solo start`
// makes them), so the WebSocket and REST tests do not depend on the gRPC listener.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/host.ts";
import { ensureAdminToken } from "../../host/session/index.ts";
import { ensureCertificates } from "../../host/api/certs.ts";
import { DEFAULT_EDGE_LIMITS, type EdgeLimits } from "../../host/api/edge-limits.ts";
import { startHttp } from "../../host/api/http-server.ts";
import type { Listener } from "../../host/api/server.ts";
import { TEST_CACHE } from "../helpers.ts";

export interface HttpTestServer {
  host: Host;
  /** https://127.0.0.1:PORT (http:// when insecure). */
  url: string;
  dataDir: string;
  adminToken: string;
  ca: string;
  cert: string;
  key: string;
  /** The listener itself (close(graceMs) alone, without the host). */
  listener: Listener;
  close(): Promise<void>;
}

export async function openHttpServer(options: { limits?: Partial<EdgeLimits>; insecure?: boolean } = {}): Promise<HttpTestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-ws-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
  const tls = await ensureCertificates(dataDir);
  const admin = await ensureAdminToken(host);
  const limits = { ...DEFAULT_EDGE_LIMITS, ...options.limits };
  const listener = await startHttp({ host, address: "127.0.0.1:0", tls, limits, insecure: options.insecure === true });
  return {
    host,
    url: listener.address,
    dataDir,
    adminToken: readFileSync(admin.path, "utf8").trim(),
    ca: readFileSync(tls.ca, "utf8"),
    cert: readFileSync(tls.admin, "utf8"),
    key: readFileSync(tls.adminKey, "utf8"),
    listener,
    async close() {
      await listener.close(1000);
      await host.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A plain HTTPS (or HTTP) request: status and parsed JSON body. */
export async function httpJson(t: HttpTestServer, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const { request } = t.url.startsWith("https:") ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, t.url), { method, ca: t.ca, headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // left as text (NDJSON streams)
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** A bare WebSocket to /v1/ws for sending frames the client never would; answers in order. */
export interface RawSocket {
  send(frame: string | Buffer): void;
  /** The next frame the server sent, parsed. */
  next(): Promise<any>;
  /** Resolves with the close code once the server (or we) closed it. */
  closed: Promise<number>;
  close(): void;
}

export async function rawSocket(t: HttpTestServer, token?: string): Promise<RawSocket> {
  const { default: WebSocket } = await import("ws");
  const ws = new WebSocket(`${t.url.replace(/^http/, "ws")}/v1/ws`, { ca: t.ca, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const frames: any[] = [];
  const waiters: ((f: any) => void)[] = [];
  ws.on("message", (data) => {
    const f = JSON.parse(data.toString());
    const w = waiters.shift();
    if (w) w(f);
    else frames.push(f);
  });
  ws.on("error", () => {});
  const closed = new Promise<number>((r) => ws.on("close", (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  return {
    send: (frame) => ws.send(frame),
    next: () => (frames.length ? Promise.resolve(frames.shift()) : new Promise((r) => waiters.push(r))),
    closed,
    close: () => ws.close(),
  };
}

/** A bare TLS (or TCP, when insecure) connection to the listener, for requests written byte by byte. */
export interface RawConnection {
  write(data: string | Buffer): Promise<void>;
  /** Everything the server sent, once it closed the connection. */
  closed: Promise<string>;
  /** The server's first bytes (an answer's status line and more). */
  firstData: Promise<string>;
  destroy(): void;
}

export async function rawConnection(t: HttpTestServer): Promise<RawConnection> {
  const u = new URL(t.url);
  const secure = u.protocol === "https:";
  const { connect: tlsConnect } = await import("node:tls");
  const { connect: netConnect } = await import("node:net");
  const sock = secure ? tlsConnect({ host: u.hostname, port: Number(u.port), ca: t.ca }) : netConnect(Number(u.port), u.hostname);
  sock.on("error", () => {});
  const chunks: Buffer[] = [];
  let first: (s: string) => void = () => {};
  const firstData = new Promise<string>((r) => (first = r));
  sock.on("data", (c: Buffer) => {
    chunks.push(c);
    first(Buffer.concat(chunks).toString("utf8"));
  });
  const closed = new Promise<string>((r) => sock.on("close", () => r(Buffer.concat(chunks).toString("utf8"))));
  await new Promise<void>((resolve, reject) => {
    sock.once(secure ? "secureConnect" : "connect", () => resolve());
    sock.once("close", () => reject(new Error("the server closed the connection before it was up")));
  });
  return {
    write: (data) => new Promise<void>((r) => (sock.write(data) ? r() : sock.once("drain", () => r()))),
    closed,
    firstData,
    destroy: () => sock.destroy(),
  };
}

/** Resolves with p, or fails naming what did not happen within ms (a hang guard, far above the expected time). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
