// secret_accessed events: one per secret name a call read (a call reading one name 10,000 times
// reports it once), within a budget per service, so a guest reading in a loop writes a bounded
// number of events: a burst of EVENT_BURST, then EVENTS_PER_SECOND; the next one written says
// how many were left out (`suppressed`). The event names the secret and the service, never the
// value.
import { EventBudget } from "../services/event-budget.ts";
import type { EventInput } from "../events/index.ts";

export class SecretAccessLog {
  private readonly budget = new EventBudget();

  constructor(private readonly write: (e: EventInput) => Promise<unknown>) {}

  /** Records what one call read; resolves once written (never rejects). */
  async record(tenant: string, service: string, names: readonly string[], actor?: string): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (const name of names) {
      const suppressed = this.budget.take(`${tenant}/${service}`);
      if (suppressed === undefined) continue;
      const data: Record<string, unknown> = { name };
      if (suppressed > 0) data.suppressed = suppressed;
      writes.push(this.write({ type: "secret_accessed", tenant, service, actor, data }).catch(() => {}));
    }
    await Promise.all(writes);
  }
}
