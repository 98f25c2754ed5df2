// A tenant's fuel-per-second budget: a token bucket that refills `rate` units a second up to a
// burst of one second's worth. A call is let in while the bucket is not in debt; its fuel is taken
// when it answers, so one call may take the bucket below zero (by at most its fuel limit), and
// the tenant then waits until the refill pays the debt back. Costs one clock read per call.

export class FuelBucket {
  private level: number;
  private at: number;

  constructor(private rate: number, private readonly now: () => number) {
    this.level = rate;
    this.at = now();
  }

  /** A new rate (an operator changed the quota): the level is kept, up to the new burst. */
  setRate(rate: number): void {
    this.refill();
    this.rate = rate;
    this.level = Math.min(this.level, rate);
  }

  /** Takes a call's fuel (it may leave the bucket in debt). */
  take(units: number): void {
    this.refill();
    this.level -= units;
  }

  /** 0 when a call may start; else the milliseconds until the debt is paid back. */
  retryAfterMs(): number {
    if (this.level >= 0) return 0;
    this.refill();
    if (this.level >= 0) return 0;
    // Rounded up, plus one: a caller that waits this long finds the bucket out of debt.
    return Math.ceil((-this.level / this.rate) * 1000) + 1;
  }

  /** Units spent of the current burst, refilled to now: above the rate means in debt. */
  spent(): number {
    this.refill();
    return Math.max(0, Math.round(this.rate - this.level));
  }

  private refill(): void {
    const t = this.now();
    this.level = Math.min(this.rate, this.level + ((t - this.at) / 1000) * this.rate);
    this.at = t;
  }
}
