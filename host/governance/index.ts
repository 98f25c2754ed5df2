export { DEFAULT_QUOTAS, QUOTA_ENV, QUOTA_NAMES, checkQuotas, quotasFromEnv, quotaError, type QuotaName, type TenantQuotas, type TenantUsage } from "./quotas.ts";
export { Governor } from "./governor.ts";
export { FuelBucket } from "./fuel-bucket.ts";
export { Admission, AdmissionLane, DEFAULT_ADMISSION, admissionSettings, type AdmissionSettings, type LaneStatus, type ShedReport } from "./admission.ts";
export { BREAKER_FAILURES, CircuitBreaker, DEFAULT_BREAKER, breakerSettings, type BreakerSettings, type CircuitChange, type CircuitState, type CircuitStatus } from "./circuit-breaker.ts";
