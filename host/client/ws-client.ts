// A Solo client over one WebSocket (JSON-RPC 2.0 at /v1/ws): requests are matched to answers by
// id, so any number may be in flight at once; events() is an Events subscription, close() on it
// sends Unsubscribe. Failures are the server's SoloErrors rebuilt from `error.data`; a dropped
// connection fails what is in flight with UNAVAILABLE (events: resume with after=<last id>).
// A token the server refuses at the upgrade makes a client whose every request fails
// UNAUTHENTICATED, as a gRPC client's would.
import WebSocket from "ws";
import { SoloError } from "../errors.ts";
import { errorFromWire } from "../api/error-mapping.ts";
import type { CallReply, DeployResult, ServiceInfo, ServiceStatus, SoloEvent, SwapResult, ValidationReport, VersionInfo } from "../index.ts";
import type { Granted, Permission } from "../capability/index.ts";
import type { TenantQuotas, TenantUsage } from "../governance/index.ts";
import type { AuditReport } from "../audit/index.ts";
import type { RotationReport, SecretInfo } from "../vault/index.ts";
import type { DeployParams, EventsParams, EventStream, LogStream, LogsParams, SoloClient, SwapParams } from "./types.ts";
import type { LogLine } from "../logs/index.ts";

export interface WsClientOptions {
  /** The server's HTTP address (https://HOST:PORT, as `solo start` prints it) or a wss:// URL. */
  url: string;
  /** PEM of the CA that signed the server's certificate (<dataDir>/tls/ca.pem). */
  ca?: string | Buffer;
  /** A client certificate and key signed by the same CA: events name it as the actor. */
  cert?: string | Buffer;
  key?: string | Buffer;
  token: string;
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: SoloError): void;
}

/** The WebSocket URL for a server address: https → wss, path /v1/ws unless one is given. */
export function wsUrl(address: string): string {
  const u = new URL(address);
  if (u.protocol === "https:") u.protocol = "wss:";
  else if (u.protocol === "http:") u.protocol = "ws:";
  if (u.protocol !== "wss:" && u.protocol !== "ws:") throw new SoloError("INVALID_ARGUMENT", `url must be https://, wss://, http:// or ws://; got ${address}`, { field: "url" });
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/v1/ws";
  return u.toString();
}

function bytesToBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

function sourceParams(source: string | Uint8Array): Record<string, string> {
  return typeof source === "string" ? { source } : { binary: bytesToBase64(source) };
}

export class WsClient implements SoloClient {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly streams = new Map<string, WsEventStream<SoloEvent | LogLine>>();
  private closing: Promise<void> | undefined;
  private lost: SoloError | undefined;

  private constructor(private readonly ws: WebSocket, private readonly refused?: SoloError) {
    if (refused) {
      // The server refused the token at the upgrade: every request answers that, as over gRPC.
      this.lost = refused;
      return;
    }
    ws.on("message", (data) => this.onMessage(data.toString()));
    ws.on("error", () => {});
    ws.on("close", (code, reason) => {
      const why = reason.toString();
      this.lost =
        code === 1009
          ? new SoloError("INVALID_ARGUMENT", "the server refused a message over its size limit (maxMessageBytes) and closed the connection; send less", { reason: "message_too_big" })
          : new SoloError("UNAVAILABLE", `the connection to the server closed (${code}${why ? `: ${why}` : ""}); connect again${this.streams.size ? " and resume events with after=<last id>" : ""}`, { closeCode: code });
      for (const p of this.pending.values()) p.reject(this.lost);
      this.pending.clear();
      for (const s of this.streams.values()) s.finish(this.lost);
      this.streams.clear();
    });
  }

  static async connect(o: WsClientOptions): Promise<WsClient> {
    const url = wsUrl(o.url);
    const ws = new WebSocket(url, {
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.cert ? { cert: o.cert } : {}),
      ...(o.key ? { key: o.key } : {}),
      headers: o.token ? { authorization: `Bearer ${o.token}` } : {},
      perMessageDeflate: false,
      maxPayload: 0x7fffffff,
    });
    const refused = await new Promise<SoloError | undefined>((resolve, reject) => {
      ws.once("open", () => resolve(undefined));
      ws.once("unexpected-response", (_req, res) => {
        // The server refused the upgrade with an error body: rebuild its SoloError.
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let body: { error?: unknown } = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            // not JSON: fall back below
          }
          const err = errorFromWire(body.error, `the server refused the WebSocket upgrade with HTTP ${res.statusCode}`);
          ws.terminate();
          // A token that is not live fails each request (UNAUTHENTICATED), not the connect.
          if (err.code === "UNAUTHENTICATED") resolve(err);
          else reject(err);
        });
      });
      ws.once("error", (err) => reject(new SoloError("UNAVAILABLE", `cannot connect to ${url}: ${err.message}`)));
    });
    return new WsClient(ws, refused);
  }

  /** One JSON-RPC request; `onAnswer` runs as the answer is read, before any later frame. */
  request<T>(method: string, params: Record<string, unknown>, onAnswer?: (result: unknown) => void): Promise<T> {
    if (this.lost) return Promise.reject(this.lost);
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new SoloError("UNAVAILABLE", "the connection is not open"));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, {
        resolve: (r) => {
          onAnswer?.(r);
          resolve(r as T);
        },
        reject,
      });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  private onMessage(text: string): void {
    let msg: { id?: unknown; result?: unknown; error?: { message?: unknown; data?: unknown }; method?: unknown; params?: { subscription?: unknown; event?: SoloEvent; line?: LogLine; error?: unknown } };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg.id === "number") {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(errorFromWire(msg.error.data, typeof msg.error.message === "string" ? msg.error.message : undefined));
      else p.resolve(msg.result);
      return;
    }
    if (msg.id === null && msg.error) {
      // An error the server could not tie to a request (our frame was unreadable): fail them all.
      const err = errorFromWire(msg.error.data);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      return;
    }
    const sub = msg.params?.subscription;
    if (typeof sub !== "string") return;
    const stream = this.streams.get(sub);
    if (!stream) return;
    if (msg.method === "event" && msg.params?.event) stream.push(msg.params.event);
    else if (msg.method === "log" && msg.params?.line) stream.push(msg.params.line);
    else if (msg.method === "end") {
      this.streams.delete(sub);
      stream.finish(msg.params?.error ? errorFromWire(msg.params.error) : undefined);
    }
  }

  deploy(p: DeployParams): Promise<DeployResult> {
    const { source, ...rest } = p;
    return this.request("Deploy", { ...rest, ...sourceParams(source) });
  }

  validate(p: { source: string | Uint8Array; language?: string; file?: string }): Promise<ValidationReport> {
    const { source, ...rest } = p;
    return this.request("Validate", { ...rest, ...sourceParams(source) });
  }

  call(tenant: string, service: string, request: string): Promise<CallReply> {
    return this.request("Call", { tenant, service, request });
  }

  status(tenant: string, service: string): Promise<ServiceStatus> {
    return this.request("Status", { tenant, service });
  }

  async list(tenant: string): Promise<ServiceStatus[]> {
    return (await this.request<{ services: ServiceStatus[] }>("List", { tenant })).services;
  }

  async kill(tenant: string, service: string): Promise<void> {
    await this.request("Kill", { tenant, service });
  }

  async discover(p: { tenant: string; name?: string; tag?: string }): Promise<ServiceInfo[]> {
    return (await this.request<{ services: ServiceInfo[] }>("Discover", { ...p })).services;
  }

  usage(tenant: string): Promise<TenantUsage> {
    return this.request("Usage", { tenant });
  }

  audit(p: { full?: boolean } = {}): Promise<AuditReport> {
    return this.request("Audit", { full: p.full === true });
  }

  async setQuotas(tenant: string, quotas: Partial<TenantQuotas>): Promise<TenantQuotas> {
    return (await this.request<{ quotas: TenantQuotas }>("SetQuotas", { tenant, quotas })).quotas;
  }

  grant(p: { tenant: string; permissions: Permission[]; services?: string[]; ttlMs: number; note?: string }): Promise<Granted> {
    return this.request("Grant", { ...p });
  }

  revoke(tokenOrId: string): Promise<{ id: string; revoked: number }> {
    // The server takes a token's text or its id in the same field.
    return this.request("Revoke", { token: tokenOrId });
  }

  attenuate(p: { token: string; permissions?: Permission[]; services?: string[]; expiresAt?: number }): Promise<{ token: string; id: string }> {
    return this.request("Attenuate", { ...p });
  }

  putSecret(tenant: string, name: string, value: string): Promise<SecretInfo> {
    return this.request("PutSecret", { tenant, name, value });
  }

  async secrets(tenant: string): Promise<SecretInfo[]> {
    return (await this.request<{ secrets: SecretInfo[] }>("ListSecrets", { tenant })).secrets;
  }

  removeSecret(tenant: string, name: string): Promise<SecretInfo> {
    return this.request("RemoveSecret", { tenant, name });
  }

  async secret(tenant: string, name: string): Promise<string> {
    return (await this.request<{ value: string }>("GetSecret", { tenant, name })).value;
  }

  rotateSecrets(newKey?: string): Promise<RotationReport> {
    return this.request("RotateSecrets", newKey === undefined ? {} : { newKey });
  }

  events(p: EventsParams): EventStream {
    return this.subscribe<SoloEvent>("Events", { ...p });
  }

  logs(p: LogsParams): LogStream {
    return this.subscribe<LogLine>("Logs", { ...p });
  }

  /** An Events or Logs subscription. */
  private subscribe<T extends SoloEvent | LogLine>(method: "Events" | "Logs", params: Record<string, unknown>): WsEventStream<T> {
    const stream = new WsEventStream<T>((id) => {
      this.streams.delete(id);
      this.request("Unsubscribe", { subscription: id }).catch(() => {});
    });
    this.request<{ subscription: string }>(method, params, (r) => {
      // Registered as the answer is read: the first event may be in the very next frame.
      const id = (r as { subscription: string }).subscription;
      this.streams.set(id, stream as WsEventStream<SoloEvent | LogLine>);
      stream.subscribed(id);
    }).catch((err: SoloError) => stream.finish(err));
    return stream;
  }


  swap(p: SwapParams): Promise<SwapResult> {
    const { source, ...rest } = p;
    return this.request("Swap", { ...rest, ...sourceParams(source) });
  }

  rollback(tenant: string, service: string, version?: number): Promise<SwapResult> {
    return this.request("Rollback", { tenant, service, ...(version !== undefined ? { version } : {}) });
  }

  async versions(tenant: string, service: string): Promise<VersionInfo[]> {
    return (await this.request<{ versions: VersionInfo[] }>("Versions", { tenant, service })).versions;
  }

  replace(p: DeployParams): Promise<DeployResult> {
    const { source, ...rest } = p;
    return this.request("Replace", { ...rest, ...sourceParams(source) });
  }


  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.refused || this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once("close", () => resolve());
      this.ws.close(1000);
      setTimeout(() => this.ws.terminate(), 2000).unref();
    });
    return this.closing;
  }
}

/** Events (or log lines) as they arrive, queued until read; ends at `end`, close(), or a lost connection. */
class WsEventStream<T> implements AsyncIterable<T> {
  private readonly queue: T[] = [];
  private waiter: { resolve(r: IteratorResult<T>): void; reject(e: SoloError): void } | undefined;
  private done = false;
  private error: SoloError | undefined;
  private id: string | undefined;
  private closed = false;

  constructor(private readonly unsubscribe: (id: string) => void) {}

  subscribed(id: string): void {
    this.id = id;
    if (this.closed) this.unsubscribe(id);
  }

  push(e: T): void {
    if (this.done) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: e, done: false });
    } else this.queue.push(e);
  }

  finish(error?: SoloError): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      if (error && this.queue.length === 0) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.id !== undefined) this.unsubscribe(this.id);
    this.queue.length = 0;
    this.error = undefined;
    this.finish();
  }

  next(): Promise<IteratorResult<T>> {
    const e = this.queue.shift();
    if (e) return Promise.resolve({ value: e, done: false });
    if (this.done) {
      if (this.error) {
        const err = this.error;
        this.error = undefined;
        return Promise.reject(err);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this;
  }
}
