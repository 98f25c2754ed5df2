// The public surface of Solo's host.
export { Host, DEFAULT_IDLE_MS, type HostOptions, type DeployOptions, type SwapOptions, type DiscoverOptions, type GuestLog, type InstanceStats } from "./host.ts";
export { SoloError, ERROR_CODES, toSoloError, type ErrorCode, type Diagnostic } from "./errors.ts";
export { DEFAULT_LIMITS, MAX_LIMITS, type ServiceLimits, type DeployResult, type CallReply, type ServiceStatus, type ServiceInfo, type SwapResult, type VersionInfo } from "./services/index.ts";
export { DEFAULT_QUOTAS, QUOTA_ENV, type TenantQuotas, type TenantUsage, type QuotaName } from "./governance/index.ts";
export { LANGUAGES, languageOf, type Language } from "./compile/index.ts";
export { EVENT_TYPES, type EventType, type SoloEvent, type EventFilter, type Retention, type Subscription, type SubscribeOptions } from "./events/index.ts";
export type { VerifyReport } from "./storage/index.ts";
export type { LogLine, LogsOptions, LogFeed } from "./logs/index.ts";
export { MAX_SECRET_BYTES, MAX_SECRETS_PER_TENANT, type SecretInfo, type RotationReport } from "./vault/index.ts";
export { validateSource, type Finding, type ValidationReport } from "./validate/index.ts";
export { AUDIT_THRESHOLDS, type AuditComponent, type AuditOptions, type AuditReport, type AuditStatus } from "./audit/index.ts";
export { NOOP_TELEMETRY, type BreakerState, type MetricsOptions, type Telemetry } from "./telemetry/index.ts";
