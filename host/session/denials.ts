// Records refused requests as capability_denied events, within a budget per tenant: a client that
// retries a bad token in a loop would otherwise write one event per attempt. What the budget leaves
// out is counted, and the next denial written says how many (`suppressed: N`).
import type { EventInput } from "../events/index.ts";
import { EventBudget } from "../services/index.ts";
import { toSoloError } from "../errors.ts";
import { HOST_TENANT } from "../capability/index.ts";

/** Where denials go whose tenant is not a valid name (a malformed request): the host's own log. */
export const HOST_EVENTS_TENANT = HOST_TENANT;

export interface Denial {
  /** The tenant the request was about ("" or a bad name → the host's own log). */
  tenant: string;
  service?: string;
  /** The token's id when it has one (never the token). */
  tokenId?: string;
  /** What the request needed: a permission or a guest capability. */
  permission: string;
  error: unknown;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export interface DenialBudget {
  /** Denial events one tenant's requests may write at once (default 20). */
  burst: number;
  /** ... and per second after that (default 10). */
  perSecond: number;
}

export class DenialLog {
  private readonly budget: EventBudget;

  constructor(private readonly append: (e: EventInput) => Promise<void>, budget?: DenialBudget) {
    this.budget = new EventBudget(budget?.burst, budget?.perSecond);
  }

  /** Records the denial (or counts it when over budget); resolves once written. Never throws. */
  async record(d: Denial): Promise<void> {
    const tenant = typeof d.tenant === "string" && NAME.test(d.tenant) ? d.tenant : HOST_EVENTS_TENANT;
    const suppressed = this.budget.take(tenant);
    if (suppressed === undefined) return;
    const e = toSoloError(d.error);
    const service = typeof d.service === "string" && NAME.test(d.service) ? d.service : undefined;
    const data: Record<string, unknown> = { permission: d.permission, code: e.code, message: e.message };
    if (d.tokenId) data.tokenId = d.tokenId;
    if (e.details?.missing !== undefined) data.missing = e.details.missing;
    if (suppressed > 0) data.suppressed = suppressed;
    await this.append({ type: "capability_denied", tenant, ...(service ? { service } : {}), actor: d.tokenId ?? "unknown", data }).catch(() => {});
  }
}
