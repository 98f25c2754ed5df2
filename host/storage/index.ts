export { RocksKvStore, type KvStore, type KvWrite } from "./kv-store.ts";
export { Storage } from "./storage.ts";
export type { FaultPlan, FaultOp } from "./faults.ts";
export type { EventQuery, IndexEntry, Meta, RecordValue, VerifyReport } from "./protocol.ts";
export { serviceKey, artifactKey, SERVICES, versionKey, VERSIONS, grantKey, GRANTS, revocationKey, REVOCATIONS, quotaKey, QUOTAS, secretKey, SECRETS } from "./layout.ts";
