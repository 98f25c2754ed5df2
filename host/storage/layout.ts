// The key spaces of Solo's one RocksDB. Keys are strings; ids are ULIDs (26 characters,
// Crockford base32), so key order is time order. Names never contain ':' (see services/names).
//
//   b:<firstId>                    a batch of events: NDJSON, in id order (one key per batch)
//   h:<firstId>                    the hash the batch links to, then each event's hash (64 hex each)
//   t:<tenant>:<firstId>           where in that batch the tenant's events are ("offset:length,...",
//                                  or "=" and the events themselves when there are at most two)
//   s:<tenant>/<service>:<firstId> ... of one service's events
//   y:<type>:<firstId>             ... of one event type
//   k:<scope>\0<key>               a service's kv entry (scope = tenant/service)
//   v:<tenant>/<service>           a deployed service: what it runs and with which limits
//   a:<artifact hash>              the component (or javy module) it runs, base64
//   m:last                         {"id","hash"} of the newest event
//   m:checkpoint                   {"before","prev"}: events before `before` were compacted;
//                                  `prev` is the hash the first kept event links to
//
// An event's hash is sha256(previous hash + "\n" + its stored JSON line), so verifying needs
// nothing but the stored bytes.
//
// One key per batch plus one per (batch, tenant | service | type) instead of four keys per event
// is what lets durable, indexed appends go past ~20k/s (measured: each index key costs ~10 us).

export const END = "~"; // sorts after every ULID character

export const batchKey = (firstId: string) => `b:${firstId}`;
export const hashKey = (firstId: string) => `h:${firstId}`;
export const tenantIndex = (tenant: string) => `t:${tenant}:`;
export const serviceIndex = (tenant: string, service: string) => `s:${tenant}/${service}:`;
export const typeIndex = (type: string) => `y:${type}:`;
export const kvPrefix = (scope: string) => `k:${scope}\u0000`;
export const serviceKey = (tenant: string, service: string) => `v:${tenant}/${service}`;
export const SERVICES = "v:";
export const artifactKey = (hash: string) => `a:${hash}`;
export const LAST = "m:last";
export const CHECKPOINT = "m:checkpoint";
export const BATCHES = "b:";
