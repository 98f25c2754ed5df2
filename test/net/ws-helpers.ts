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
