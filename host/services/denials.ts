// The capability_denied events a service's guest causes: one per distinct import a call (or its
// start code) was denied, within the service's own event budget. A guest that retries a denied
// import in a loop writes at most EVENT_BURST events, then EVENTS_PER_SECOND; the next one written
// says how many were left out (`suppressed: N`). Its own budget, so denials never use up the one
// that crash and limit events share.
import { capabilityForImport } from "../capability/guest.ts";
import type { EventInput } from "../events/index.ts";
import { EventBudget } from "./event-budget.ts";

export class Denials {
  private readonly budget = new EventBudget();

  constructor(private readonly write: (e: EventInput) => Promise<void>) {}

  /** Records the denials of one call or install; resolves once written (never rejects). */
  async record(tenant: string, service: string, denied: readonly string[]): Promise<void> {
    const key = `${tenant}/${service}`;
    const writes: Promise<void>[] = [];
    for (const imp of denied) {
      const suppressed = this.budget.take(key);
      if (suppressed === undefined) continue;
      const data: Record<string, unknown> = { import: imp, capability: capabilityForImport(imp) };
      if (suppressed > 0) data.suppressed = suppressed;
      writes.push(this.write({ type: "capability_denied", tenant, service, data }).catch(() => {}));
    }
    await Promise.all(writes);
  }
}
