export { Supervisor, type DeployRequest, type DeployResult, type CallReply, type ServiceStatus } from "./supervisor.ts";
export { DEFAULT_LIMITS, MAX_LIMITS, resolveLimits, type ServiceLimits } from "./limits.ts";
export { checkName } from "./names.ts";
