// The host's side of events.emit: a successful call's emits become guest_event events in its
// tenant's stream (kind and data exactly as the guest gave them: the worker already bounded the
// kind to a name, the data to 4 KiB and the rate to its budget, runtime/guest-events.ts). Emits
// the budget refused are not written one by one: at most one resource_violation a second per
// service says how many were dropped (counts in between go into the next one).
import type { EventInput } from "../events/index.ts";

/** Least time between two "emits dropped" summaries of one service. */
const SUMMARY_EVERY_MS = 1000;

export class GuestEvents {
  /** Per service key: when its last summary was written, and refusals not reported yet. */
  private readonly refusals = new Map<string, { at: number; dropped: number }>();

  constructor(private readonly append: (e: EventInput) => Promise<unknown>, private readonly now: () => number = () => performance.now()) {}

  /** A call's emits, in order; appended in one tick (one batch); resolves once durable. */
  async record(tenant: string, service: string, emits: [string, string][], actor?: string): Promise<void> {
    await Promise.all(emits.map(([kind, data]) => this.append({ type: "guest_event", tenant, service, actor, data: { kind, data } })));
  }

  /** `n` emits were refused by the service's budget; writes a summary if none went out this second. */
  async refused(tenant: string, service: string, n: number, actor?: string): Promise<void> {
    const key = `${tenant}/${service}`;
    const now = this.now();
    let s = this.refusals.get(key);
    if (!s) this.refusals.set(key, (s = { at: -Infinity, dropped: 0 }));
    s.dropped += n;
    if (now - s.at < SUMMARY_EVERY_MS) return;
    const dropped = s.dropped;
    s.at = now;
    s.dropped = 0;
    await this.append({
      type: "resource_violation", tenant, service, actor,
      data: { code: "RESOURCE_EXHAUSTED", limit: "emit", dropped, message: `${dropped} events.emit calls were refused (limit-exceeded): a service may emit 100 events at once, then 50 a second, at most 100 per call` },
    });
  }

  /** The service is gone. */
  forget(key: string): void {
    this.refusals.delete(key);
  }
}
