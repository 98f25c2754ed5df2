// The capability_denied events a service's guest causes (secret_access_denied for secrets.get):
// one per distinct import a call (or its start code) was denied, within the service's own event
// budget. A guest that retries a denied import in a loop writes at most EVENT_BURST events, then
// EVENTS_PER_SECOND; the next one written says how many were left out (`suppressed: N`). Its own
// budget, so denials never use up the one that crash and limit events share; and a tenant-wide
// one on top (2.5 times a service's), so that a tenant does not multiply its share by deploying
// many services that each loop.
import { capabilityForImport } from "../capability/guest.ts";
import type { EventInput } from "../events/index.ts";
import { EventBudget } from "./event-budget.ts";

/** A tenant's guests together: a burst of 50, then 25 a second. */
const TENANT_BURST = 50;
const TENANT_PER_SECOND = 25;

export class Denials {
  private readonly budget = new EventBudget();
  private readonly tenants = new EventBudget(TENANT_BURST, TENANT_PER_SECOND);

  constructor(private readonly write: (e: EventInput) => Promise<void>) {}

  /** Records the denials of one call or install; resolves once written (never rejects). */
  async record(tenant: string, service: string, denied: readonly string[]): Promise<void> {
    const key = `${tenant}/${service}`;
    const writes: Promise<void>[] = [];
    for (const imp of denied) {
      const tenantLeft = this.tenants.take(tenant);
      if (tenantLeft === undefined) continue;
      const serviceLeft = this.budget.take(key);
      if (serviceLeft === undefined) continue;
      // Left out before this one: by this service's budget, and by the tenant's (any of its services).
      const suppressed = serviceLeft + tenantLeft;
      const capability = capabilityForImport(imp);
      // A secret asked for without its capability has a type of its own, naming the secret.
      const secret = capability.startsWith("secret:") ? capability.slice(7) : undefined;
      const data: Record<string, unknown> = secret === undefined ? { import: imp, capability } : { name: secret, import: imp, capability };
      if (suppressed > 0) data.suppressed = suppressed;
      writes.push(this.write({ type: secret === undefined ? "capability_denied" : "secret_access_denied", tenant, service, data }).catch(() => {}));
    }
    await Promise.all(writes);
  }
}
