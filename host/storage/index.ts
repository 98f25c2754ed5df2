export { MemoryKvStore, type KvStore } from "./kv-store.ts";
