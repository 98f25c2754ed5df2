// Records refused requests as capability_denied events, within budgets, so that no caller can
// flood the event log or spend another tenant's share of it:
// - a caller with a live token is charged to its own grant, and the event goes to its own
//   tenant's log (an admin token's to the host's), naming the tenant and service it asked for;
// - a caller without a live token (malformed, forged, expired, revoked) proves nothing about who
//   it is: its refusals go to the host's own log (`_host`), under one budget for all of them, and
//   never into the log of the tenant it named;
// - every denial also takes from one host-wide budget (ten times a caller's).
// What a budget leaves out is counted, and the next denial written says how many (`suppressed`).
import type { EventInput } from "../events/index.ts";
import { EventBudget } from "../services/index.ts";
import { toSoloError } from "../errors.ts";
import { HOST_TENANT, type Authority } from "../capability/index.ts";

/** Where denials go that no live token vouches for: the host's own log. */
export const HOST_EVENTS_TENANT = HOST_TENANT;

export interface DenialBudget {
  /** Denial events one caller (a grant; or all callers without a live token) may write at once (default 20). */
  burst: number;
  /** ... and per second after that (default 10). The whole host: ten times both. */
  perSecond: number;
}

export interface Denial {
  /** The tenant the request named. */
  tenant: string;
  service?: string;
  /** The caller's authority when its token is live (refused for what it covers, not for what it is). */
  authority?: Authority;
  /** The token's id when it parses (never the token). */
  tokenId?: string;
  /** What the request needed: a permission or a guest capability. */
  permission: string;
  error: unknown;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const UNAUTHENTICATED_KEY = "\u0000unauthenticated";

export class DenialLog {
  private readonly perCaller: EventBudget;
  private readonly host: EventBudget;

  constructor(private readonly append: (e: EventInput) => Promise<void>, budget?: DenialBudget) {
    this.perCaller = new EventBudget(budget?.burst, budget?.perSecond);
    this.host = new EventBudget(budget ? budget.burst * 10 : 200, budget ? budget.perSecond * 10 : 100);
  }

  /** Records the denial (or counts it when over budget); resolves once written. Never throws. */
  async record(d: Denial): Promise<void> {
    const a = d.authority;
    const own = a ? (a.tenant === "*" ? HOST_EVENTS_TENANT : a.tenant) : HOST_EVENTS_TENANT;
    // The caller's own budget first: a caller past it must not spend the host-wide one, which
    // every other caller's refusals need too.
    const mine = this.perCaller.take(a ? a.grantId : UNAUTHENTICATED_KEY);
    if (mine === undefined) return;
    const left = this.host.take("host");
    if (left === undefined) return;
    const e = toSoloError(d.error);
    const askedTenant = typeof d.tenant === "string" && NAME.test(d.tenant) ? d.tenant : undefined;
    const askedService = typeof d.service === "string" && NAME.test(d.service) ? d.service : undefined;
    const data: Record<string, unknown> = { permission: d.permission, code: e.code, message: e.message };
    if (askedTenant && askedTenant !== own) data.tenant = askedTenant;
    if (d.tokenId) data.tokenId = d.tokenId;
    if (e.details?.missing !== undefined) data.missing = e.details.missing;
    if (mine + left > 0) data.suppressed = mine + left;
    // The service field only within the caller's own tenant; elsewhere it is in data.
    const service = askedService && askedTenant === own ? askedService : undefined;
    if (askedService && !service) data.service = askedService;
    await this.append({ type: "capability_denied", tenant: own, ...(service ? { service } : {}), actor: d.tokenId ?? "unknown", data }).catch(() => {});
  }
}
