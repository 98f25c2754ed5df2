// A tenant's fuel-per-second budget: a token bucket that refills `rate` units a second up to a
// burst of one second's worth. Each admitted call reserves its fuel limit (what it may use at
// most) until it answers; a call is let in only while the level minus what is reserved is above
// zero, so calls sent together cannot spend past the budget before the first one answers. On the
// answer the reservation goes and the fuel really used is taken. The last call let in may take the
// bucket below zero by at most its own limit; the tenant then waits for the refill. So a tenant's
// calls in flight are bounded by about rate / fuel limit. Costs one clock read per admission and
// one per answer.

export class FuelBucket {
  private level: number;
  private at: number;
  /** Fuel limits of the calls admitted and not yet answered. */
  private held = 0;

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

  /** 0 when a call may start (and then `units` are reserved for it); else the milliseconds until
   *  the refill alone would let one in (answers of calls in flight may let one in sooner). */
  reserve(units: number): number {
    this.refill();
    const free = this.level - this.held;
    if (free > 0) {
      this.held += units;
      return 0;
    }
    // Rounded up, plus one: a caller that waits this long finds free fuel, unless reservations
    // past one second's worth are still in flight.
    return Math.ceil((-free / this.rate) * 1000) + 1;
  }

  /** A call answered: its reservation goes and the fuel it used is taken (it may leave debt).
   *  That may be more than it reserved: a call that made its instance (after an eviction, a trap
   *  or a cached deploy) also pays for the start code, which ran with fuel of its own. */
  settle(reserved: number, used: number): void {
    this.refill();
    this.held -= reserved;
    this.level -= used;
  }

  /** Units spent of the current burst, refilled to now: above the rate means in debt. */
  spent(): number {
    this.refill();
    return Math.max(0, Math.round(this.rate - this.level));
  }

  /** Fuel reserved by calls in flight. */
  reserved(): number {
    return this.held;
  }

  private refill(): void {
    const t = this.now();
    this.level = Math.min(this.rate, this.level + ((t - this.at) / 1000) * this.rate);
    this.at = t;
  }
}
