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
}

export const DEFAULT_EDGE_LIMITS: EdgeLimits = {
  maxMessageBytes: 48 * 1024 * 1024,
  maxStreamsPerConnection: 64,
  requestsPerSecond: 20_000,
  idleTimeoutMs: 300_000,
  drainMs: 10_000,
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
