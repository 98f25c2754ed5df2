export { Supervisor } from "./supervisor.ts";
export type { DeployRequest, DeployResult, CallReply, ServiceStatus, ServiceInfo } from "./service-record.ts";
export { MAX_DESCRIPTION_CHARS, MAX_TAGS } from "./service-meta.ts";
export { DEFAULT_LIMITS, MAX_LIMITS, resolveLimits, type ServiceLimits } from "./limits.ts";
export { checkName } from "./names.ts";
export { EventBudget } from "./event-budget.ts";
