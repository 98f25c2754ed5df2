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
  async recordCaused(rec: ServiceRecord, e: EventInput): Promise<void> {
    const suppressed = this.eventBudget.take(rec.key);
    if (suppressed === undefined) return;
    await this.record(suppressed > 0 ? { ...e, data: { ...e.data, suppressed } } : e);
  }

  /** Counts a result; for a failure, its event (if any) and the error the caller gets. */
  async failure(rec: ServiceRecord, error: NonNullable<CallResult["error"]>, actor?: string): Promise<never> {
    const code = error.code;
    this.countError(rec, code);
    const limit = LIMIT_OF[code];
    if (limit) await this.recordCaused(rec, { type: "resource_violation", tenant: rec.tenant, service: rec.service, actor, data: { code, limit, value: rec.limits[limit], message: error.message } });
    else if (code === "GUEST_TRAP") await this.recordCaused(rec, { type: "service_crashed", tenant: rec.tenant, service: rec.service, actor, data: { code, message: error.message } });
    throw SoloError.from(error);
  }
}
