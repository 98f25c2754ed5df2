export { RocksKvStore, type KvStore, type KvWrite } from "./kv-store.ts";
export { Storage } from "./storage.ts";
export type { FaultPlan, FaultOp } from "./faults.ts";
export type { EventQuery, IncrementalReport, IndexEntry, Meta, RecordValue, VerifiedPoint, VerifyReport } from "./protocol.ts";
export { serviceKey, artifactKey, SERVICES, versionKey, VERSIONS, grantKey, GRANTS, revocationKey, REVOCATIONS, quotaKey, QUOTAS, secretKey, SECRETS } from "./layout.ts";
