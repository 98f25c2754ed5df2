// One WebSocket connection speaking JSON-RPC 2.0: one request → one response with the same id.
// Methods are METHODS' names, plus Authenticate {token} (for browsers, which cannot set the
// Authorization header; once, before any other request, on a socket opened without the header),
// Events (a subscription: answers
// {subscription}, then `event` notifications, and `end` when a stored-only stream is done or the
// subscription failed), Logs (the same, with `log` notifications {subscription, line}) and
// Unsubscribe {subscription}. Every error carries the SoloError as
// `error.data`. Nothing a client sends crashes the server: bad frames get an error reply.
//
// What a socket may cost the server: a socket opened without a token may send only small frames
// (limits.unauthenticatedMessageBytes) and must Authenticate within limits.authTimeoutMs. Replies
// are never read faster than the client takes them: past SOFT_BUFFER queued bytes the socket stops
// reading requests until they drain, and past the hard bound it is cut. No error quotes more than
// 64 characters of what the client sent.
import type { WebSocket, RawData } from "ws";
import { SoloError, toSoloError } from "../errors.ts";
import type { Host } from "../host.ts";
import type { Session } from "../session/index.ts";
import { clip, RateBucket, rateLimited, type EdgeLimits } from "./edge-limits.ts";
import { METHODS, openEvents, openLogs, type EventFeed, type Params } from "./methods.ts";
import type { LogFeed, LogLine } from "../logs/index.ts";
import type { SoloEvent } from "../events/index.ts";

/** JSON-RPC 2.0 error codes. */
export const RPC = { PARSE: -32700, INVALID_REQUEST: -32600, NO_METHOD: -32601, INVALID_PARAMS: -32602, SERVER: -32000 } as const;

/**
 * Past this many bytes queued on the socket, the socket stops reading requests and a subscription
 * waits for them to reach the kernel before sending more; its events then wait in the host's
 * bounded subscription buffer, which drops a subscriber that falls too far behind
 * (RESOURCE_EXHAUSTED). Past half the hard bound (other replies piling up too), a subscription
 * ends at once with RESOURCE_EXHAUSTED; past the hard bound the socket is cut.
 */
const SOFT_BUFFER = 1 << 20;

/**
 * Sets the largest frame the socket's reader accepts. ws takes it once per server; this sets the
 * reader's own field (ws 8), pinned by the frame-size tests in ws-edge-limits.test.ts.
 */
function setFrameLimit(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (receiver && typeof receiver._maxPayload === "number") receiver._maxPayload = bytes;
}

type Id = string | number | null;

/** Longest string id a request may carry (answers repeat it). */
const MAX_ID = 128;

interface Sub {
  feed: EventFeed | LogFeed;
  /** Events: `event` notifications; Logs: `log` ones. */
  kind: "event" | "log";
  /** Unsubscribed or the socket went: send nothing more for it. */
  closed: boolean;
}

export class WsSession {
  private session: Session;
  /** Requests other than Authenticate seen so far (Authenticate must come first). */
  private requests = 0;
  /** The token came in the Authorization header (checked at the upgrade): no Authenticate. */
  private readonly headerToken: boolean;
  /** Authenticate was asked for (once per socket, whatever its answer). */
  private authTried = false;
  /** Until a token is verified: small frames only, and a deadline to Authenticate. */
  private authenticated: boolean;
  private authTimer: NodeJS.Timeout | undefined;
  /** Reading stopped until queued replies drain. */
  private paused = false;
  private pending = 0;
  private readonly subs = new Map<string, Sub>();
  private nextSub = 0;
  private readonly bucket: RateBucket;
  private idleTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private hardBuffer: number;

  constructor(
    private readonly host: Host,
    private readonly ws: WebSocket,
    private readonly limits: EdgeLimits,
    token: string,
    private readonly peer: string | undefined,
    onGone: () => void,
  ) {
    this.headerToken = token !== "";
    this.authenticated = this.headerToken;
    this.session = host.session(token, { peer });
    this.bucket = new RateBucket(limits.requestsPerSecond);
    // A reply may be as large as a call's output (limits.maxResponseBytes); before a token, only errors.
    this.hardBuffer = this.authenticated ? 4 * SOFT_BUFFER + 2 * limits.maxMessageBytes : 4 * SOFT_BUFFER;
    if (!this.authenticated) {
      setFrameLimit(ws, limits.unauthenticatedMessageBytes);
      this.authTimer = setTimeout(() => {
        if (!this.authenticated && this.ws.readyState === this.ws.OPEN) {
          this.ws.close(1008, `no Authenticate within ${limits.authTimeoutMs} ms; send Authorization: Bearer at the upgrade or Authenticate {token} first`);
          setTimeout(() => this.ws.terminate(), 1000).unref();
        }
      }, limits.authTimeoutMs);
      this.authTimer.unref();
    }
    ws.on("message", (data, isBinary) => this.onMessage(data, isBinary));
    // An oversized frame or broken framing: ws closes the socket (1009 / 1002) and reports here.
    ws.on("error", () => {});
    ws.on("close", () => {
      clearTimeout(this.idleTimer);
      clearTimeout(this.authTimer);
      for (const sub of this.subs.values()) this.stop(sub);
      this.subs.clear();
      onGone();
    });
    this.armIdle();
  }

  /** Requests or subscriptions are in flight. */
  busy(): boolean {
    return this.pending > 0;
  }

  /** Shutdown has begun: new requests get UNAVAILABLE, those in flight finish. */
  drain(): void {
    this.draining = true;
  }

  /** Ends every subscription and closes the socket (1001: going away). */
  terminate(reason: string): void {
    for (const sub of this.subs.values()) this.stop(sub);
    this.subs.clear();
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1001, reason);
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      // An open subscription or a request in flight is not idle.
      if (this.pending > 0 || this.subs.size > 0) return this.armIdle();
      if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000, `idle for ${this.limits.idleTimeoutMs} ms; connect again when needed`);
    }, this.limits.idleTimeoutMs);
    this.idleTimer.unref();
  }

  private send(message: unknown): void {
    this.sendText(JSON.stringify(message));
  }

  /** Queues a frame, or cuts a socket whose client stopped reading (past the hard bound). */
  private sendText(text: string, done?: () => void): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > this.hardBuffer) {
      // Closing politely would queue behind what the client does not read: cut it.
      this.ws.terminate();
      return false;
    }
    this.ws.send(text, () => {
      if (this.paused && this.ws.bufferedAmount <= SOFT_BUFFER) {
        this.paused = false;
        this.ws.resume();
      }
      done?.();
    });
    if (!this.paused && this.ws.bufferedAmount > SOFT_BUFFER) {
      // No more requests until the client reads its answers.
      this.paused = true;
      this.ws.pause();
    }
    return true;
  }

  private reply(id: Id, result: unknown): void {
    this.send({ jsonrpc: "2.0", id, result });
  }

  private fail(id: Id, rpcCode: number, err: unknown): void {
    const e = toSoloError(err);
    this.send({ jsonrpc: "2.0", id, error: { code: rpcCode, message: e.message, data: e.toJSON() } });
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.armIdle();
    if (isBinary) return this.fail(null, RPC.INVALID_REQUEST, new SoloError("INVALID_ARGUMENT", "send JSON-RPC requests as text frames, not binary", { field: "frame" }));
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch (err) {
      return this.fail(null, RPC.PARSE, new SoloError("INVALID_ARGUMENT", `the frame is not JSON (${(err as Error).message.slice(0, 120)}); send one JSON-RPC 2.0 request object a frame`, { field: "frame" }));
    }
    if (Array.isArray(msg)) return this.fail(null, RPC.INVALID_REQUEST, new SoloError("INVALID_ARGUMENT", "batches are not supported; send one request object a frame", { field: "frame" }));
    if (!msg || typeof msg !== "object") return this.fail(null, RPC.INVALID_REQUEST, new SoloError("INVALID_ARGUMENT", "a request is a JSON object {jsonrpc:\"2.0\", id, method, params}", { field: "frame" }));
    const m = msg as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
    const id: Id = typeof m.id === "string" || (typeof m.id === "number" && Number.isFinite(m.id)) ? m.id : null;
    // A notification (no id) would get no answer under JSON-RPC; every method here answers, so
    // a request without an id is refused rather than run unseen.
    if (id === null) return this.fail(null, RPC.INVALID_REQUEST, new SoloError("INVALID_ARGUMENT", "every request needs an id (a string or a number)", { field: "id" }));
    // The answer repeats the id: a long one would make every answer as big as its request.
    if (typeof id === "string" && id.length > MAX_ID) return this.fail(null, RPC.INVALID_REQUEST, new SoloError("INVALID_ARGUMENT", `an id is at most ${MAX_ID} characters; this one has ${id.length}`, { field: "id" }));
    if (m.jsonrpc !== "2.0") return this.fail(id, RPC.INVALID_REQUEST, new SoloError("INVALID_ARGUMENT", 'a request says jsonrpc: "2.0"', { field: "jsonrpc" }));
    if (typeof m.method !== "string") return this.fail(id, RPC.INVALID_REQUEST, new SoloError("INVALID_ARGUMENT", "a request names its method as a string", { field: "method" }));
    if (!this.bucket.take()) return this.fail(id, RPC.SERVER, rateLimited(this.limits.requestsPerSecond));
    if (this.draining) return this.fail(id, RPC.SERVER, new SoloError("UNAVAILABLE", "the server is shutting down; connect again later"));
    if (m.params !== undefined && m.params !== null && (typeof m.params !== "object" || Array.isArray(m.params))) {
      return this.fail(id, RPC.INVALID_PARAMS, new SoloError("INVALID_ARGUMENT", "params must be an object of named params", { field: "params" }));
    }
    const params = (m.params ?? {}) as Params;
    this.pending++;
    this.dispatch(m.method, params)
      .then(
        (result) => {
          if (result instanceof Subscribed) {
            this.reply(id, { subscription: result.id });
            void this.pump(result.id, result.sub); // events only after the answer naming them
          } else this.reply(id, result);
        },
        (err) => this.fail(id, rpcCodeOf(err), err),
      )
      .finally(() => {
        this.pending--;
        this.armIdle();
      });
  }

  private async dispatch(method: string, params: Params): Promise<unknown> {
    if (method === "Authenticate") return this.authenticate(params);
    this.requests++;
    if (method === "Events") return this.subscribe(params, "event");
    if (method === "Logs") return this.subscribe(params, "log");
    if (method === "Unsubscribe") {
      const id = params.subscription;
      const sub = typeof id === "string" ? this.subs.get(id) : undefined;
      if (!sub) throw new SoloError("NOT_FOUND", `no subscription ${clip(id)} on this connection (it may have ended already)`, { field: "subscription" });
      this.subs.delete(id as string);
      this.stop(sub);
      return {};
    }
    const fn = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
    if (!fn) throw new NoMethod(method);
    return fn(this.session, params);
  }

  private async authenticate(params: Params): Promise<unknown> {
    if (this.headerToken) {
      throw new SoloError("INVALID_ARGUMENT", "this connection's token came in the Authorization header; Authenticate is only for connections opened without one", { field: "method" });
    }
    if (this.authTried || this.requests > 0) {
      throw new SoloError("INVALID_ARGUMENT", "Authenticate comes once, first, on a connection; open a new connection to use another token", { field: "method" });
    }
    this.authTried = true;
    if (typeof params.token !== "string" || params.token === "") throw new SoloError("INVALID_ARGUMENT", "token must be a non-empty string", { field: "token" });
    // Taken now, before the check resolves: requests sent right behind Authenticate use this
    // token, and fail UNAUTHENTICATED with it if it is not live.
    const session = this.host.session(params.token, { peer: this.peer });
    this.session = session;
    const a = await session.authenticate(); // UNAUTHENTICATED (recorded) when the token is not live
    this.authenticated = true;
    clearTimeout(this.authTimer);
    this.hardBuffer = 4 * SOFT_BUFFER + 2 * this.limits.maxMessageBytes;
    setFrameLimit(this.ws, this.limits.maxMessageBytes);
    return { tokenId: a.tokenId, tenant: a.tenant, admin: a.admin, actor: session.actor };
  }

  private async subscribe(params: Params, kind: Sub["kind"]): Promise<Subscribed> {
    if (this.subs.size >= this.limits.maxStreamsPerConnection) {
      throw new SoloError("RESOURCE_EXHAUSTED", `this connection has ${this.subs.size} subscriptions open, the most allowed; Unsubscribe one or open another connection`, { reason: "streams", limit: this.limits.maxStreamsPerConnection });
    }
    const feed = kind === "event" ? await openEvents(this.session, params) : await openLogs(this.session, params);
    if (this.ws.readyState !== this.ws.OPEN) {
      feed.close();
      throw new SoloError("UNAVAILABLE", "the connection closed");
    }
    const id = `s${++this.nextSub}`;
    const sub: Sub = { feed, kind, closed: false };
    this.subs.set(id, sub);
    return new Subscribed(id, sub);
  }

  private stop(sub: Sub): void {
    sub.closed = true;
    sub.feed.close();
  }

  private async pump(id: string, sub: Sub): Promise<void> {
    let error: SoloError | undefined;
    try {
      for await (const item of sub.feed as AsyncIterable<SoloEvent | LogLine>) {
        if (sub.closed) break;
        const event = item as SoloEvent;
        const text = JSON.stringify({ jsonrpc: "2.0", method: sub.kind, params: sub.kind === "event" ? { subscription: id, event } : { subscription: id, line: item } });
        const dropAt = this.hardBuffer / 2;
        if (this.ws.bufferedAmount > dropAt) {
          error = sub.kind === "log"
            ? new SoloError("RESOURCE_EXHAUSTED", `subscription ${id} dropped: over ${dropAt} bytes wait to be read on this connection; read faster, then subscribe again`, { reason: "slow_subscriber" })
            : new SoloError("RESOURCE_EXHAUSTED", `subscription ${id} dropped: over ${dropAt} bytes wait to be read on this connection; read faster, then subscribe again with after=${event.id}`, { reason: "slow_subscriber", resumeAfter: event.id });
          break;
        }
        if (this.ws.readyState !== this.ws.OPEN) break;
        if (this.ws.bufferedAmount > SOFT_BUFFER) {
          let sent = false;
          await new Promise<void>((r) => (sent = this.sendText(text, r)) || r());
          if (!sent) break;
        } else if (!this.sendText(text)) break;
      }
    } catch (err) {
      error = toSoloError(err);
    } finally {
      sub.feed.close();
    }
    if (sub.closed) return;
    this.subs.delete(id);
    this.armIdle();
    this.send({ jsonrpc: "2.0", method: "end", params: error ? { subscription: id, error: error.toJSON() } : { subscription: id } });
  }
}

class Subscribed {
  constructor(readonly id: string, readonly sub: Sub) {}
}

class NoMethod extends SoloError {
  constructor(method: string) {
    super("NOT_FOUND", `no method ${clip(method)}; methods are ${["Authenticate", ...Object.keys(METHODS), "Events", "Logs", "Unsubscribe"].join(", ")}`, { field: "method" });
  }
}

function rpcCodeOf(err: unknown): number {
  if (err instanceof NoMethod) return RPC.NO_METHOD;
  if (err instanceof SoloError && err.code === "INVALID_ARGUMENT") return RPC.INVALID_PARAMS;
  return RPC.SERVER;
}
