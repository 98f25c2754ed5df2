export { RocksKvStore, type KvStore } from "./kv-store.ts";
export { Storage } from "./storage.ts";
export type { EventQuery, IndexEntry, Meta, VerifyReport } from "./protocol.ts";
export { serviceKey, artifactKey, SERVICES } from "./layout.ts";
