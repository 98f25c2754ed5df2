export { Supervisor } from "./supervisor.ts";
export type { DeployRequest, DeployResult, CallReply, ServiceStatus, ServiceInfo, SwapRequest, SwapResult, CrashState } from "./service-record.ts";
export type { VersionInfo, VersionRecord } from "./versions.ts";
export { DEFAULT_ROLLBACK_WINDOW_MS, DEFAULT_MAX_FAILURE_RATE } from "./rollback-window.ts";
export { MAX_DESCRIPTION_CHARS, MAX_TAGS } from "./service-meta.ts";
export { DEFAULT_LIMITS, MAX_LIMITS, resolveLimits, type ServiceLimits } from "./limits.ts";
export { checkName } from "./names.ts";
export { EventBudget } from "./event-budget.ts";
export { DEFAULT_SUPERVISION, type SupervisionSettings } from "./supervision.ts";
