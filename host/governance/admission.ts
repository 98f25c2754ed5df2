// Admission: every call passes here before it queues, and is refused at once (UNAVAILABLE with
// details.retryAfterMs) when its worker is over capacity, tenants holding more than their fair
// share first.
//
// Capacity is measured, per worker (a worker runs one call at a time, so each is its own queue):
// the pool and worker stamp how long each call waited without running — queued before it
// started, and after it ended while the rest of its batch ran (results go back per batch, so a
// call that ran first still waits for its batch-mates). As in CoDel, what matters is the
// *minimum* of that wait over an interval (100 ms): a burst that drains leaves a low minimum, a
// standing queue does not. While the minimum stays above the
// target (5 ms), the worker's limit on calls in flight (queued + running) shrinks in proportion
// (limit * target / minimum, not below 2: one running, one waiting, so the worker never idles
// for want of a call); an interval whose minimum is below target grows it by a tenth, and once
// it is twice what is used, there is no limit again. Until a worker has been over, nothing is
// limited. So the limit settles where calls wait about the target, whatever a call costs. One
// guard for goodput: an interval in which calls were refused while the worker ran calls less
// than 90% of the time grows the limit by a quarter whatever the waits say (answers were slow to
// turn into new calls, e.g. on a busy machine, and the limit starved the worker).
//
// Fairness: at the limit, a tenant is admitted only while it holds less than its fair share of
// the worker's time: its calls in flight times how long its calls run (a moving average per
// tenant), against the sum of that over the tenants with calls there, over how many they are.
// Counting calls alone would refuse a tenant of many short calls while a neighbour's few long
// ones fill the worker; weighed by run time, the tenant that fills the worker is the one refused.
// A tenant sending ten times more is refused about ten times more often, and gets about one
// share, not ten. A tenant with no call in flight is always let in with one. And nothing is
// refused while the calls in flight there hold less than the target's worth of the worker's time
// (by their tenants' average run times, below targetMs), for at most EXEMPT_PAST_LIMIT calls past
// the limit: that is no queue of work a limit would shorten, and the waits come from elsewhere (a
// stalled machine, a long call of a tenant since moved away), so a light tenant left alone on a
// worker is not shed for what others or the machine did. The count bounds a burst of calls that
// run far longer than their tenant's average so far (the average learns only from answers). The sum is kept as
// calls come and go (in whole nanoseconds, so adding and taking back never drifts), so the check
// at the limit costs the same with 10 tenants as with 10,000.
//
// load_shed events are sampled: at most one per tenant per second, carrying how many calls were
// refused since its last one, and at most `eventsPerSecond` for all tenants together (the rest
// wait for the next second, their counts kept).
//
// Cost per call: admit and done are a map read and write each and a few comparisons; no clock is
// read (done takes the worker's own stamp). bench/overload.ts measures it against no admission.
import { SoloError } from "../errors.ts";
import { monotonicMs } from "../runtime/protocol.ts";

export interface AdmissionSettings {
  /** False: every call is admitted, nothing is measured. */
  enabled: boolean;
  /** The wait (ms) calls may have at their worker without running; a minimum above it for a whole interval means over capacity. */
  targetMs: number;
  /** How often (ms) the limit is revised from the waits seen. */
  intervalMs: number;
  /** The limit on a worker's calls in flight never goes below this. */
  minInflight: number;
  /** load_shed events per second, all tenants together (each tenant at most one a second). */
  eventsPerSecond: number;
}

export const DEFAULT_ADMISSION: AdmissionSettings = { enabled: true, targetMs: 5, intervalMs: 100, minInflight: 2, eventsPerSecond: 20 };

/** Settings given at Host.open over the defaults, checked. */
export function admissionSettings(given: Partial<AdmissionSettings> | undefined): AdmissionSettings {
  const s = { ...DEFAULT_ADMISSION, ...given };
  if (typeof s.enabled !== "boolean") throw new SoloError("INVALID_ARGUMENT", "admission.enabled must be true or false", { field: "admission.enabled" });
  for (const k of ["targetMs", "intervalMs", "minInflight", "eventsPerSecond"] as const) {
    const v = s[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || ((k === "minInflight" || k === "eventsPerSecond") && !Number.isInteger(v))) {
      throw new SoloError("INVALID_ARGUMENT", `admission.${k} must be a positive ${k === "minInflight" || k === "eventsPerSecond" ? "whole " : ""}number; got ${String(v)}`, { field: `admission.${k}` });
    }
  }
  return s;
}

/** One worker's queue as admission sees it. Opaque to callers: admit hands it out, done takes it back. */
export class AdmissionLane {
  inflight = 0;
  /** Calls in flight allowed; Infinity until the worker has been over capacity. */
  limit = Infinity;
  /** Each tenant's calls in flight here and how long they run; entries at 0 calls stay until the next revision (a delete and re-insert per call costs more than the lookup). */
  readonly tenants = new Map<string, TenantLoad>();
  /** How long calls here run, moving average (ms): a new tenant's guess. */
  runMs = 0;
  /** Tenants with calls in flight here. */
  active = 0;
  /** Σ over tenants of inflight × weight (TenantLoad.weight): the worker's time its calls in flight hold. */
  held = 0;
  /** Wait at the worker, moving average (ms): the retry hint. */
  delayMs = 0;
  /** This interval: the least wait seen, the most calls in flight, and when it ends. */
  minQ = Infinity;
  peak = 0;
  end = 0;
  /** This interval: ms its calls ran, and calls refused (together: did shedding leave the worker idle?). */
  busy = 0;
  shed = 0;
  /** The longest call answered this interval and the last (ms): a wait one call explains is not a queue. */
  maxRun = 0;
  prevMaxRun = 0;
  /** Calls refused here, ever. */
  refused = 0;
  constructor(readonly worker: number) {}
}

/** One tenant's calls on one worker. */
interface TenantLoad {
  inflight: number;
  /** How long its calls run, moving average (ms); the lane's average until one answered. */
  runMs: number;
  /** What each of its calls in flight adds to AdmissionLane.held: runMs (at least MIN_RUN_MS) in whole ns. */
  weight: number;
}

/** Calls let in past a worker's limit while its calls in flight hold under the target (see the top). */
const EXEMPT_PAST_LIMIT = 64;

/** A call's run time counts at least this (ms): a tenant of empty calls still holds a share. */
const MIN_RUN_MS = 0.01;

/**
 * runMs as a whole number of nanoseconds: integers add and subtract exactly, so the lane's running
 * sum stays the sum of its parts. Exact below 2^53 ns (~104 days of calls in flight on one worker:
 * 10,000 calls of 600 s, the longest deadline, are 69 days).
 */
const weightOf = (runMs: number) => Math.round(Math.max(MIN_RUN_MS, runMs) * 1e6);

/** A worker's admission, as status and bench show it. */
export interface LaneStatus {
  worker: number;
  inflight: number;
  /** null: not limited (not over capacity lately). */
  limit: number | null;
  /** Wait at the worker (queued, or for its batch), moving average (ms). */
  waitMs: number;
  refused: number;
}

/** What a load_shed event says: calls of `tenant` refused since its previous one. */
export interface ShedReport {
  tenant: string;
  /** The service of the latest refused call. */
  service: string;
  refused: number;
  worker: number;
  limit: number;
  inflight: number;
  tenantInflight: number;
  waitMs: number;
  retryAfterMs: number;
}

interface ShedCount {
  count: number;
  /** When its last event was written (monotonic ms). */
  at: number;
  last?: Omit<ShedReport, "refused">;
}

/** Admission for every call that would go to a real worker; `enabled: false` admits all. */
const OPEN_LANE = new AdmissionLane(-1);

export class Admission {
  readonly settings: AdmissionSettings;
  private readonly lanes: AdmissionLane[] = [];
  private readonly shed = new Map<string, ShedCount>();
  private timer: NodeJS.Timeout | undefined;
  /** The events budget: tokens, refilled eventsPerSecond a second. */
  private tokens: number;
  private tokensAt: number;
  /** targetMs in the unit of AdmissionLane.held (whole ns). */
  private readonly targetNs: number;

  constructor(
    settings: Partial<AdmissionSettings> | undefined,
    /** Writes one load_shed event (sampled here). */
    private readonly onShed: (report: ShedReport) => void,
    /** Every refusal (telemetry counts them all; events are sampled). */
    private readonly onRefused?: (tenant: string) => void,
    /** Monotonic ms, the clock the pool and workers stamp calls with. */
    private readonly now: () => number = monotonicMs,
  ) {
    this.settings = admissionSettings(settings);
    this.targetNs = Math.round(this.settings.targetMs * 1e6);
    this.tokens = this.settings.eventsPerSecond;
    this.tokensAt = this.now();
  }

  /**
   * The hot path: a call of `tenant` to a service on `worker` asks to queue. Answers the lane to
   * give back to done() exactly once when it has answered (or never ran), or the refusal.
   */
  admit(worker: number, tenant: string, service: string): AdmissionLane | SoloError {
    if (!this.settings.enabled) return OPEN_LANE;
    const lane = this.lanes[worker] ?? this.newLane(worker);
    let mine = lane.tenants.get(tenant);
    if (mine === undefined) lane.tenants.set(tenant, (mine = { inflight: 0, runMs: lane.runMs, weight: weightOf(lane.runMs) }));
    // At the limit: the share of the worker's time this tenant holds (held/lane.held) against an
    // equal share (1/active); compared multiplied out, so a tie is a tie.
    if (lane.inflight >= lane.limit && mine.inflight > 0 && (lane.held >= this.targetNs || lane.inflight >= lane.limit + EXEMPT_PAST_LIMIT) && mine.inflight * mine.weight * lane.active >= lane.held) {
      return this.refuse(lane, tenant, service, mine.inflight, (mine.inflight * mine.weight) / lane.held, 1 / lane.active);
    }
    lane.inflight++;
    if (mine.inflight === 0) lane.active++;
    mine.inflight++;
    lane.held += mine.weight;
    if (lane.inflight > lane.peak) lane.peak = lane.inflight;
    return lane;
  }

  /**
   * An admitted call answered: `waitMs` and `at` are CallResult.waitMs and answeredAt (undefined
   * if it never ran); `at` spares a clock reading per call.
   */
  done(lane: AdmissionLane, tenant: string, waitMs: number | undefined, at?: number, runMs = 0): void {
    if (lane === OPEN_LANE) return;
    lane.inflight--;
    // Always found: an entry leaves the map only at 0 calls in flight, and this call was one.
    const mine = lane.tenants.get(tenant);
    if (mine !== undefined) {
      lane.held -= mine.weight;
      if (--mine.inflight === 0) lane.active--;
    }
    if (waitMs !== undefined) {
      lane.busy += runMs;
      if (runMs > lane.maxRun) lane.maxRun = runMs;
      lane.runMs += (runMs - lane.runMs) / 16;
      if (mine !== undefined) {
        mine.runMs += (runMs - mine.runMs) / 8;
        // Its other calls in flight now weigh the new average.
        const weight = weightOf(mine.runMs);
        lane.held += mine.inflight * (weight - mine.weight);
        mine.weight = weight;
      }
      this.observe(lane, waitMs, at ?? this.now());
    }
  }

  private newLane(worker: number): AdmissionLane {
    const lane = new AdmissionLane(worker);
    // The first revision comes after a whole interval of answers, not after the first one.
    lane.end = this.now() + this.settings.intervalMs;
    this.lanes[worker] = lane;
    return lane;
  }

  /** Each worker's state (workers no call has reached yet are left out). */
  status(): LaneStatus[] {
    const out: LaneStatus[] = [];
    for (const lane of this.lanes) {
      if (lane) out.push({ worker: lane.worker, inflight: lane.inflight, limit: lane.limit === Infinity ? null : lane.limit, waitMs: Math.round(lane.delayMs * 100) / 100, refused: lane.refused });
    }
    return out;
  }

  /** Writes the counts still pending (host close) and stops the timer. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const [tenant, s] of this.shed) if (s.count > 0 && s.last) this.onShed({ ...s.last, tenant, refused: s.count });
    this.shed.clear();
  }

  private observe(lane: AdmissionLane, q: number, now: number): void {
    lane.delayMs += (q - lane.delayMs) / 8;
    if (q < lane.minQ) lane.minQ = q;
    if (now < lane.end) return;
    const s = this.settings;
    const minQ = lane.minQ;
    // Calls were refused and yet the worker sat idle for more than a tenth of the interval (its
    // calls ran less than 90% of it): the limit is too low to keep it fed (answers take long to
    // turn into new calls, e.g. on a busy machine), whatever the waits say. Grow it.
    const starved = lane.shed > 0 && lane.busy < 0.9 * (now - (lane.end - s.intervalMs));
    if (starved && lane.limit !== Infinity) lane.limit = Math.max(lane.limit + 1, Math.ceil(lane.limit * 1.25));
    else if (minQ >= s.targetMs) {
      // A standing queue all interval long: the limit that would have kept it near the target.
      // Only if calls did queue behind others: with minInflight or fewer in flight, a long wait
      // is the thread's own latency (a busy machine), and no limit would have shortened it. Nor
      // when one call ran about as long as the least wait: calls waited behind that call (a
      // neighbour's long call, which placement moves away), not in a queue a limit would shorten.
      const headOfLine = Math.max(lane.maxRun, lane.prevMaxRun) >= minQ / 2;
      if (lane.peak > s.minInflight && !headOfLine) lane.limit = Math.max(s.minInflight, Math.floor((Math.min(lane.limit, lane.peak) * s.targetMs) / minQ));
    } else if (lane.limit !== Infinity) {
      lane.limit = Math.ceil(lane.limit * 1.1) + 1;
      if (lane.limit >= 2 * lane.peak + s.minInflight) lane.limit = Infinity;
    }
    if (lane.tenants.size > 2 * lane.active + 16) for (const [t, n] of lane.tenants) if (n.inflight === 0) lane.tenants.delete(t);
    lane.minQ = Infinity;
    lane.busy = 0;
    lane.shed = 0;
    lane.prevMaxRun = lane.maxRun;
    lane.maxRun = 0;
    lane.peak = lane.inflight;
    lane.end = now + s.intervalMs;
  }

  private refuse(lane: AdmissionLane, tenant: string, service: string, mine: number, held: number, share: number): SoloError {
    lane.refused++;
    lane.shed++;
    const retryAfterMs = Math.min(10_000, Math.max(1, Math.ceil(Math.max(lane.delayMs, this.settings.targetMs))));
    const waitMs = Math.round(lane.delayMs * 100) / 100;
    this.onRefused?.(tenant);
    this.count(tenant, { tenant, service, worker: lane.worker, limit: lane.limit, inflight: lane.inflight, tenantInflight: mine, waitMs, retryAfterMs });
    return new SoloError(
      "UNAVAILABLE",
      `the host is over capacity: calls on this worker wait ${waitMs} ms on average without running (target ${this.settings.targetMs} ms) and tenant ${tenant}'s ${mine} calls in flight already hold ${pct(held)} of the worker's time (its fair share: ${pct(share)}); retry after details.retryAfterMs, or send fewer or shorter calls at once`,
      { tenant, service, reason: "overloaded", retryAfterMs, inflight: mine, share: round2(held), fairShare: round2(share) },
    );
  }

  /** Counts a refusal; writes the tenant's load_shed event if its second is up and the budget allows. */
  private count(tenant: string, last: Omit<ShedReport, "refused">): void {
    let s = this.shed.get(tenant);
    if (!s) this.shed.set(tenant, (s = { count: 0, at: -Infinity }));
    s.count++;
    s.last = last;
    const now = this.now();
    if (now - s.at >= 1000 && this.take(now)) this.emit(tenant, s, now);
    else this.arm();
  }

  private emit(tenant: string, s: ShedCount, now: number): void {
    const report = { ...s.last!, tenant, refused: s.count };
    s.count = 0;
    s.at = now;
    this.onShed(report);
  }

  private take(now: number): boolean {
    const rate = this.settings.eventsPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) / 1000) * rate);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  /** One timer (unref'd) writes the counts left pending, a second after each tenant's last event. */
  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = this.now();
      let pending = false;
      for (const [tenant, s] of this.shed) {
        if (s.count === 0) {
          if (now - s.at >= 1000) this.shed.delete(tenant);
          continue;
        }
        if (now - s.at >= 1000 && this.take(now)) this.emit(tenant, s, now);
        else pending = true;
      }
      if (pending) this.arm();
    }, 250);
    this.timer.unref();
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const pct = (x: number) => `${Math.round(x * 100)}%`;
