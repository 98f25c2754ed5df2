// What each call's result does to its service: counters (calls, fuel, memory, errors by code),
// the events a failure causes (within the service's event budget), and its kv commit.
import { SoloError, type ErrorCode } from "../errors.ts";
import type { CallResult } from "../runtime/index.ts";
import type { EventInput } from "../events/index.ts";
import { EventBudget } from "./event-budget.ts";
import type { ServiceLimits } from "./limits.ts";
import type { ServiceRecord } from "./service-record.ts";

/** The limit each resource error is about. */
const LIMIT_OF: Partial<Record<ErrorCode, keyof ServiceLimits>> = { FUEL_EXHAUSTED: "fuel", MEMORY_LIMIT: "memoryBytes", DEADLINE_EXCEEDED: "deadlineMs" };

export class Accounting {
  /** Events each service's calls may write (crashes, violations, restarts). */
  private readonly eventBudget = new EventBudget();

  constructor(private readonly record: (e: EventInput) => Promise<void>) {}

  countError(rec: ServiceRecord, code: ErrorCode): void {
    rec.errors[code] = (rec.errors[code] ?? 0) + 1;
  }

  /** Records an event a call caused, within the service's event budget (event-budget.ts). */
  recordCaused(rec: ServiceRecord, e: EventInput): Promise<void> {
    return this.recordFor(rec.key, e);
  }

  /** Records an event within the event budget of `key` (a tenant's refusals before any service exists). */
  async recordFor(key: string, e: EventInput): Promise<void> {
    const suppressed = this.eventBudget.take(key);
    if (suppressed === undefined) return;
    await this.record(suppressed > 0 ? { ...e, data: { ...e.data, suppressed } } : e);
  }

  /** A call refused by a tenant quota before it ran: counted, its resource_violation within the budget. */
  refused(rec: ServiceRecord, error: SoloError): SoloError {
    this.countError(rec, error.code);
    const d = error.details ?? {};
    void this.recordCaused(rec, { type: "resource_violation", tenant: rec.tenant, service: rec.service, data: { code: error.code, quota: d.quota, limit: d.limit, used: d.used, message: error.message } }).catch(() => {});
    return error;
  }

  /** Counts a result; for a failure, its event (if any) and the error the caller gets. */
  async failure(rec: ServiceRecord, error: NonNullable<CallResult["error"]>, actor?: string): Promise<never> {
    const code = error.code;
    this.countError(rec, code);
    const limit = LIMIT_OF[code];
    const quota = error.details?.quota;
    // Past a tenant quota (memory a call could not grow): the event names the quota and its use.
    if (typeof quota === "string") await this.recordCaused(rec, { type: "resource_violation", tenant: rec.tenant, service: rec.service, actor, data: { code, quota, limit: error.details!.limit, used: error.details!.used, message: error.message } });
    else if (limit) await this.recordCaused(rec, { type: "resource_violation", tenant: rec.tenant, service: rec.service, actor, data: { code, limit, value: rec.limits[limit], message: error.message } });
    else if (code === "GUEST_TRAP") await this.recordCaused(rec, { type: "service_crashed", tenant: rec.tenant, service: rec.service, actor, data: { code, message: error.message } });
    throw SoloError.from(error);
  }
}
