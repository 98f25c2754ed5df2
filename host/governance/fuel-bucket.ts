// A tenant's fuel-per-second budget: a token bucket that refills `rate` units a second up to a
// burst of one second's worth. Each admitted call reserves its fuel limit (what it may use at
// most) until it answers; a call is let in only while the level minus what is reserved is above
// zero, so calls sent together cannot spend past the budget before the first one answers. On the
// answer the reservation goes and the fuel really used is taken. The last call let in may take the
// bucket below zero by at most its own limit; the tenant then waits for the refill. So a tenant's
// calls in flight are bounded by about rate / fuel limit. Costs one clock read per admission and
// one per answer.

/** The bucket's numbers, in one Float64Array: storing a fraction there allocates nothing, where a
 *  field holding one may be a boxed heap number each store replaces (~80 bytes a call, measured). */
const LEVEL = 0;
const AT = 1;
/** Fuel limits of the calls admitted and not yet answered. */
const HELD = 2;

export class FuelBucket {
  private readonly s = new Float64Array(3);

  constructor(private rate: number, private readonly now: () => number) {
    this.s[LEVEL] = rate;
    this.s[AT] = now();
  }

  /** A new rate (an operator changed the quota): the level is kept, up to the new burst. */
  setRate(rate: number): void {
    this.refill();
    this.rate = rate;
    this.s[LEVEL] = Math.min(this.s[LEVEL]!, rate);
  }

  /** 0 when a call may start (and then `units` are reserved for it); else the milliseconds until
   *  the refill alone would let one in (answers of calls in flight may let one in sooner). */
  reserve(units: number): number {
    this.refill();
    const s = this.s;
    const free = s[LEVEL]! - s[HELD]!;
    if (free > 0) {
      s[HELD] = s[HELD]! + units;
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
    this.s[HELD] = this.s[HELD]! - reserved;
    this.s[LEVEL] = this.s[LEVEL]! - used;
  }

  /** Units spent of the current burst, refilled to now: above the rate means in debt. */
  spent(): number {
    this.refill();
    return Math.max(0, Math.round(this.rate - this.s[LEVEL]!));
  }

  /** Fuel reserved by calls in flight. */
  reserved(): number {
    return this.s[HELD]!;
  }

  private refill(): void {
    const s = this.s;
    const t = this.now();
    s[LEVEL] = Math.min(this.rate, s[LEVEL]! + ((t - s[AT]!) / 1000) * this.rate);
    s[AT] = t;
  }
}
