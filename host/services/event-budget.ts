// How many events a service's calls may write: a token bucket per service. A crash loop (every
// call traps) would otherwise write one event per call, tens of thousands a second, filling the
// event log and the disk with one guest's noise. Events past the budget are not written but
// counted; the next event that is written says how many were left out (`suppressed: N`).

/** Events one service's calls may write at once: enough for a burst a reader can follow. */
export const EVENT_BURST = 20;
/** Events per second after the burst: each new kind of failure still shows within a second. */
export const EVENTS_PER_SECOND = 10;

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms, monotonic). */
  at: number;
  /** Events left out since the last one written. */
  suppressed: number;
}

export class EventBudget {
  private readonly buckets = new Map<string, Bucket>();
  /** Size at which idle buckets are next swept, so that the map tracks active services only. */
  private sweepAt = 1024;

  constructor(
    private readonly burst = EVENT_BURST,
    private readonly perSecond = EVENTS_PER_SECOND,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Takes one event's worth for `key`. Returns undefined when the event must not be written
   * (it is counted), else how many were left out before it (0 when none).
   */
  take(key: string): number | undefined {
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.sweepAt) this.sweep(t);
      this.buckets.set(key, (b = { tokens: this.burst, at: t, suppressed: 0 }));
    } else this.refill(b, t);
    if (b.tokens < 1) {
      b.suppressed++;
      return undefined;
    }
    b.tokens--;
    const suppressed = b.suppressed;
    b.suppressed = 0;
    return suppressed;
  }

  private refill(b: Bucket, t: number): void {
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.perSecond);
    b.at = t;
  }

  /** Drops buckets that are full again with nothing to report: a fresh bucket is the same. */
  private sweep(t: number): void {
    for (const [key, b] of this.buckets) {
      this.refill(b, t);
      if (b.tokens >= this.burst && b.suppressed === 0) this.buckets.delete(key);
    }
    this.sweepAt = Math.max(1024, this.buckets.size * 2);
  }
}
