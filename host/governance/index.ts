export { DEFAULT_QUOTAS, QUOTA_ENV, QUOTA_NAMES, checkQuotas, quotasFromEnv, quotaError, type QuotaName, type TenantQuotas, type TenantUsage } from "./quotas.ts";
export { Governor } from "./governor.ts";
export { FuelBucket } from "./fuel-bucket.ts";
