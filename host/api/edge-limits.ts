// What one client may send and hold at the network edge, before any of it reaches the host.
// Oversized or malformed input gets a clear error (and may lose its connection); the server
// never crashes on it.
import { SoloError } from "../errors.ts";

export interface EdgeLimits {
  /** Largest request message, HTTP body or WebSocket frame (a 32 MiB source, base64, fits). */
  maxMessageBytes: number;
  /** Streams (gRPC) or subscriptions (WebSocket) one connection may have open at once. */
  maxStreamsPerConnection: number;
  /** Requests one connection may make per second (a bucket of that size, refilled each second). */
  requestsPerSecond: number;
  /** A connection with nothing in flight for this long is closed. */
  idleTimeoutMs: number;
  /** How long shutdown lets requests in flight finish before connections are cut. */
  drainMs: number;
  /** Connections open at once on one listener; past it new ones are closed at accept (~2 KiB each idle, more with TLS). */
  maxConnections: number;
  /**
   * REST body bytes the listener holds at once, over all requests (each counted by its declared
   * length up front); past it a request is refused without its body being read.
   */
  bodyBytesInFlight: number;
  /** A request's headers and body must have arrived within this; a slower client gets 408 and loses its connection. */
  requestTimeoutMs: number;
  /** A TLS handshake (or a raw TCP connection saying nothing) must finish within this. */
  handshakeTimeoutMs: number;
  /** A WebSocket opened without an Authorization header must Authenticate within this, or is closed (1008). */
  authTimeoutMs: number;
  /** Largest frame a WebSocket may send before it has authenticated; past it the socket closes (1009). */
  unauthenticatedMessageBytes: number;
}

export const DEFAULT_EDGE_LIMITS: EdgeLimits = {
  maxMessageBytes: 48 * 1024 * 1024,
  maxStreamsPerConnection: 64,
  requestsPerSecond: 20_000,
  idleTimeoutMs: 300_000,
  drainMs: 10_000,
  maxConnections: 1_000,
  bodyBytesInFlight: 4 * 48 * 1024 * 1024,
  requestTimeoutMs: 30_000,
  handshakeTimeoutMs: 5_000,
  authTimeoutMs: 5_000,
  unauthenticatedMessageBytes: 64 * 1024,
};

/** A per-connection request budget: `take()` is false when the connection is over its rate. */
export class RateBucket {
  private tokens: number;
  private at = performance.now();

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

export function rateLimited(perSecond: number): SoloError {
  return new SoloError("RESOURCE_EXHAUSTED", `this connection is over ${perSecond} requests a second; slow down or open another connection`, { reason: "rate", limit: perSecond });
}

/**
 * Client input quoted back in an error: at most `max` characters, so an answer never grows with
 * what the client sent (a 20 MB method name must not come back twice).
 */
export function clip(value: unknown, max = 64): string {
  const text = typeof value === "string" ? value : String(JSON.stringify(value) ?? value);
  return text.length <= max ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, max))}… (${text.length} chars)`;
}

