// The key spaces of Solo's one RocksDB. Keys are strings; ids are ULIDs (26 characters,
// Crockford base32), so key order is time order. Names never contain ':' (see services/names).
//
//   b:<firstId>                    a batch of events: NDJSON, in id order (one key per batch)
//   h:<firstId>                    the hash the batch links to, then each event's hash (64 hex each)
//   t:<tenant>:<firstId>           where in that batch the tenant's events are ("offset:length,...",
//                                  or "=" and the events themselves when there are at most two)
//   s:<tenant>/<service>:<firstId> ... of one service's events
//   y:<type>:<firstId>             ... of one event type
//   k:<scope>\0<key>               a service's kv entry (scope = tenant/service); the scope's
//                                  range ends at k:<scope>\1, which sorts after every key's
//                                  UTF-8 bytes (an end of "\uffff" sorted below emoji keys)
//   v:<tenant>/<service>           a deployed service: what it runs and with which limits
//   r:<tenant>/<service>:<version> one version of a service (JSON: artifact, source hash, language,
//                                  capabilities, limits, time, actor, how it came); the version is
//                                  10 digits, zero-padded, so key order is version order; deleted
//                                  with the service by a kill
//   a:<artifact hash>              the component (or javy module) it runs: bytes (base64 text
//                                  from before records could hold bytes)
//   g:<grantId>                    a capability grant (JSON): tenant, permissions, services?,
//                                  expiresAt, parent token id?, note?, createdAt; never a token
//                                  or a MAC (host/capability)
//   x:<tokenId>                    that token (a grant id, or grantId.<hash> for a narrowed
//                                  token) is revoked; the key is what counts, the value is
//                                  {"at","by"} for people
//   q:<tenant>                     quotas an operator set for the tenant (JSON, only the quotas
//                                  set; the rest follow the host's defaults), written in one
//                                  batch with its quota_changed event
//   z:<tenant>/<name>              a secret of the tenant's vault (JSON): the id of the master key
//                                  that sealed it, nonce, ciphertext and tag (base64; AES-256-GCM
//                                  with tenant, name and version as additional data), version,
//                                  createdAt, updatedAt; never the value in clear. Written in one
//                                  batch with its secret_stored / secret_revoked event; a rotation
//                                  rewrites them in batches of 100 (host/vault)
//   m:last                         {"id","hash"} of the newest event
//   m:checkpoint                   {"before","prev"}: events before `before` were compacted;
//                                  `prev` is the hash the first kept event links to
//   m:probe                        epoch ms of the audit's last probe write (host/audit)
//
// The chain, the index format, verify and compaction are in host/events (chain.ts,
// index-format.ts, verify.ts, compact.ts); the storage worker only reads and writes these keys.

export const END = "~"; // sorts after every ULID character
export const PROBE = "m:probe";

export const batchKey = (firstId: string) => `b:${firstId}`;
export const hashKey = (firstId: string) => `h:${firstId}`;
export const tenantIndex = (tenant: string) => `t:${tenant}:`;
export const serviceIndex = (tenant: string, service: string) => `s:${tenant}/${service}:`;
export const typeIndex = (type: string) => `y:${type}:`;
export const kvPrefix = (scope: string) => `k:${scope}\u0000`;
export const kvRange = (scope: string) => ({ gte: kvPrefix(scope), lt: `k:${scope}\u0001` });
export const serviceKey = (tenant: string, service: string) => `v:${tenant}/${service}`;
export const SERVICES = "v:";
export const versionKey = (tenant: string, service: string, version: number) => `r:${tenant}/${service}:${String(version).padStart(10, "0")}`;
export const VERSIONS = "r:";
export const artifactKey = (hash: string) => `a:${hash}`;
export const grantKey = (grantId: string) => `g:${grantId}`;
export const GRANTS = "g:";
export const revocationKey = (tokenId: string) => `x:${tokenId}`;
export const REVOCATIONS = "x:";
export const quotaKey = (tenant: string) => `q:${tenant}`;
export const QUOTAS = "q:";
export const secretKey = (tenant: string, name: string) => `z:${tenant}/${name}`;
export const SECRETS = "z:";
export const LAST = "m:last";
export const CHECKPOINT = "m:checkpoint";
export const BATCHES = "b:";

/**
 * Every key that starts with `prefix`: it ends at the prefix with its last character incremented,
 * which sorts after all of them byte-wise. That character must be ASCII (all Solo's prefixes end
 * in one) so the increment is also one byte.
 */
export function prefixRange(prefix: string): { gte: string; lt: string } {
  const last = prefix.charCodeAt(prefix.length - 1);
  if (!(last >= 0 && last < 0x7f)) throw new Error(`a key prefix must end in an ASCII character: ${JSON.stringify(prefix)}`);
  return { gte: prefix, lt: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}
