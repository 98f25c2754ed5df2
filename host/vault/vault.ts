// The vault: each tenant's secrets, sealed at rest (sealed.ts) with the host's master key
// (master-key.ts). Every sealed record is also kept in memory (~300 bytes + the value each), so a
// read is a map lookup and one AES-GCM decryption (~5 us), and never waits on RocksDB. Writes
// (store, revoke, rotate) run one at a time; each store and revoke is one synced batch with its
// event, and reads never see a value before it is durable.
//
// Rotation, made to survive a SIGKILL at any point:
//   1. file mode: the new key goes to master.key.next (fsync, rename, fsync of the directory);
//   2. the new key becomes current: stores from now on are sealed with it;
//   3. records still under an old key are re-sealed in batches of RESEAL_BATCH, each batch one
//      synced write; each record names the key that sealed it, and both keys stay loaded;
//   4. file mode: master.key.next is renamed over master.key: the old key is gone last;
//   5. a secrets_rotated event (host tenant).
// Opening finishes whatever a rotation left: both key files loaded, records still under the old
// key re-sealed, then step 4. With SOLO_MASTER_KEY nothing is written to disk; the operator sets
// the variable to the new key (and SOLO_MASTER_KEY_PREVIOUS to the old one if the host stopped
// mid-way).
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SoloError } from "../errors.ts";
import { HOST_TENANT } from "../capability/capabilities.ts";
import type { EventStore } from "../events/index.ts";
import { SECRETS, secretKey, type RecordValue, type Storage } from "../storage/index.ts";
import { checkName } from "../services/names.ts";
import type { SecretSnapshot } from "../runtime/protocol.ts";
import { MASTER_KEY_ENV, NEXT_KEY_FILE, PREVIOUS_KEY_ENV, loadKeys, masterKey, parseKey, promoteNextKey, writeNextKey, type KeyRing, type MasterKey } from "./master-key.ts";
import { parseSealed, seal, unseal, type SealedSecret } from "./sealed.ts";
import { MAX_SECRETS_PER_TENANT, checkSecretName, checkSecretValue } from "./limits.ts";

/** Records re-sealed per synced write during a rotation. */
export const RESEAL_BATCH = 100;

/** A secret as list() shows it: never its value. */
export interface SecretInfo {
  tenant: string;
  name: string;
  version: number;
  /** ISO 8601, UTC. */
  createdAt: string;
  updatedAt: string;
  /** Only when its stored record cannot be read at all: store it again. */
  damaged?: true;
}

export interface RotationReport {
  /** The id of the key every secret is now sealed with (never the key). */
  keyId: string;
  previousKeyId: string;
  /** Secrets re-sealed. */
  secrets: number;
}

/** Told after a secret changed (value null: removed), with the change's sequence number. */
export type SecretListener = (tenant: string, name: string, value: string | null, seq: number) => void;

/** A stored record that does not parse: kept so that reads say so and a store can replace it. */
const DAMAGED = "damaged";
type Entry = SealedSecret | typeof DAMAGED;

export interface VaultOptions {
  storage: Storage;
  events: EventStore;
  /** Where master.key lives (the host's data directory). */
  dataDir: string;
  /** Where SOLO_MASTER_KEY is read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Records re-sealed per synced write during a rotation; default RESEAL_BATCH. */
  resealBatch?: number;
}

export class Vault {
  /** "tenant/name" -> its sealed record. */
  private readonly entries = new Map<string, Entry>();
  private readonly counts = new Map<string, number>();
  private keys = new Map<string, MasterKey>();
  private current: MasterKey;
  private writing: Promise<unknown> = Promise.resolve();
  /** Bumped by every store and revoke: a worker keeps the newest of what it is sent. */
  private seq = 0;
  onChange: SecretListener | undefined;

  private constructor(private readonly o: VaultOptions, private readonly ring: KeyRing, records: [string, string][]) {
    this.current = ring.current;
    for (const k of [ring.current, ...ring.older]) this.keys.set(k.id, k);
    for (const [key, text] of records) {
      const id = key.slice(SECRETS.length);
      this.entries.set(id, parseSealed(text) ?? DAMAGED);
      const tenant = id.slice(0, id.indexOf("/"));
      this.counts.set(tenant, (this.counts.get(tenant) ?? 0) + 1);
    }
  }

  /**
   * Loads every secret and the master key (creating master.key on a first start); finishes a
   * rotation that did not. INTERNAL / INVALID_ARGUMENT when a record is sealed with a key this
   * host was not given: nothing is changed then.
   */
  static async open(o: VaultOptions): Promise<Vault> {
    const records = await o.storage.recordsWithPrefix(SECRETS);
    const ring = loadKeys(o.dataDir, o.env ?? process.env, records.length === 0);
    const vault = new Vault(o, ring, records);
    vault.checkKeysKnown();
    if (ring.unfinished || vault.staleRecords().length > 0) {
      const previous = ring.older[0]?.id ?? ring.current.id;
      const secrets = await vault.complete();
      await o.events.append({ type: "secrets_rotated", tenant: HOST_TENANT, data: { keyId: ring.current.id, previousKeyId: previous, secrets, finishedAtOpen: true } });
    }
    // Older keys no record names are not kept.
    vault.keys = new Map([[vault.current.id, vault.current]]);
    return vault;
  }

  /** The id of the key new secrets are sealed with. */
  get keyId(): string {
    return this.current.id;
  }

  /** Stores (or replaces: version + 1) a secret; resolves once it and its secret_stored event are durable. */
  store(tenantName: string, nameGiven: string, valueGiven: string, actor = "local"): Promise<SecretInfo> {
    let tenant: string, name: string, value: string;
    try {
      tenant = checkName("tenant", tenantName);
      name = checkSecretName(nameGiven);
      value = checkSecretValue(valueGiven);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.exclusive(async () => {
      const id = `${tenant}/${name}`;
      const old = this.entries.get(id);
      const count = this.counts.get(tenant) ?? 0;
      if (old === undefined && count >= MAX_SECRETS_PER_TENANT) {
        throw new SoloError("RESOURCE_EXHAUSTED", `tenant ${tenant} holds ${count} secrets, the most a tenant may keep (${MAX_SECRETS_PER_TENANT}); remove one it no longer needs (solo secret rm) before storing ${name}`, { tenant, limit: MAX_SECRETS_PER_TENANT, used: count });
      }
      const now = Date.now();
      const version = old === undefined || old === DAMAGED ? 1 : old.version + 1;
      const createdAt = old === undefined || old === DAMAGED ? now : old.createdAt;
      const sealed = seal(this.current, tenant, name, version, value, { createdAt, updatedAt: now });
      await this.o.events.append({ type: "secret_stored", tenant, actor, data: { name, version } }, { records: [[secretKey(tenant, name), JSON.stringify(sealed)]] });
      this.entries.set(id, sealed);
      if (old === undefined) this.counts.set(tenant, count + 1);
      this.changed(tenant, name, value);
      return info(tenant, name, sealed);
    });
  }

  /** The value (the in-process operator's, and the guest worker's source); NOT_FOUND, or INTERNAL when it does not decrypt. */
  retrieve(tenantName: string, nameGiven: string): string {
    const tenant = checkName("tenant", tenantName);
    const name = checkSecretName(nameGiven);
    const e = this.entries.get(`${tenant}/${name}`);
    if (e === undefined) throw notFound(tenant, name);
    if (e === DAMAGED) throw damaged(tenant, name);
    return unseal(this.keys, tenant, name, e);
  }

  /** The tenant's secrets by name: versions and times, never values. */
  list(tenantName: string): SecretInfo[] {
    const tenant = checkName("tenant", tenantName);
    const prefix = `${tenant}/`;
    const out: SecretInfo[] = [];
    for (const [id, e] of this.entries) {
      if (!id.startsWith(prefix)) continue;
      const name = id.slice(prefix.length);
      out.push(e === DAMAGED ? { tenant, name, version: 0, createdAt: new Date(0).toISOString(), updatedAt: new Date(0).toISOString(), damaged: true } : info(tenant, name, e));
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Removes a secret; resolves once its deletion and its secret_revoked event are durable. NOT_FOUND if absent. */
  revoke(tenantName: string, nameGiven: string, actor = "local"): Promise<SecretInfo> {
    let tenant: string, name: string;
    try {
      tenant = checkName("tenant", tenantName);
      name = checkSecretName(nameGiven);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.exclusive(async () => {
      const id = `${tenant}/${name}`;
      const old = this.entries.get(id);
      if (old === undefined) throw notFound(tenant, name);
      const version = old === DAMAGED ? 0 : old.version;
      await this.o.events.append({ type: "secret_revoked", tenant, actor, data: { name, version } }, { records: [[secretKey(tenant, name), null]] });
      this.entries.delete(id);
      const left = (this.counts.get(tenant) ?? 1) - 1;
      if (left > 0) this.counts.set(tenant, left);
      else this.counts.delete(tenant);
      this.changed(tenant, name, null);
      const at = new Date().toISOString();
      return old === DAMAGED ? { tenant, name, version, createdAt: at, updatedAt: at } : info(tenant, name, old);
    });
  }

  /**
   * Re-seals every secret under a new master key (`newKey`: 32 bytes, or text as SOLO_MASTER_KEY
   * takes it; default a random key, file mode only). `onStep` hears each step as it is durable
   * ("next-key", "batch N", "resealed", "promoted"); awaited, so a test can stop there.
   */
  rotate(newKey?: string | Buffer, onStep?: (step: string) => void | Promise<void>): Promise<RotationReport> {
    let next: MasterKey;
    try {
      if (newKey === undefined) {
        if (this.ring.mode === "env") throw new SoloError("INVALID_ARGUMENT", `the master key comes from ${MASTER_KEY_ENV}: give the new key (32 bytes, base64 or hex) to rotate to, then set ${MASTER_KEY_ENV} to it before the next start`, { field: "newKey" });
        next = masterKey(randomBytes(32));
      } else next = typeof newKey === "string" ? parseKey(newKey, "newKey") : Buffer.isBuffer(newKey) && newKey.length === 32 ? masterKey(Buffer.from(newKey)) : parseKey("", "newKey");
    } catch (err) {
      return Promise.reject(err);
    }
    return this.exclusive(async () => {
      // A rotation that failed part-way (a storage error) is finished first: its new key must
      // not be overwritten while records are sealed with it.
      if (this.keys.size > 1) await this.complete();
      const previous = this.current;
      if (next.id === previous.id) throw new SoloError("INVALID_ARGUMENT", `the new key is the key in use (${previous.id}); give a different key`, { field: "newKey" });
      if (this.ring.mode === "file") {
        writeNextKey(this.o.dataDir, next);
        await onStep?.("next-key");
      }
      this.keys.set(next.id, next);
      this.current = next;
      const secrets = await this.complete(onStep);
      await this.o.events.append({ type: "secrets_rotated", tenant: HOST_TENANT, data: { keyId: next.id, previousKeyId: previous.id, secrets } });
      return { keyId: next.id, previousKeyId: previous.id, secrets };
    });
  }

  /**
   * Steps 3 and 4: every record under the current key, then (file mode) master.key.next renamed
   * over master.key; only the current key is kept. Answers how many records were re-sealed.
   */
  private async complete(onStep?: (step: string) => void | Promise<void>): Promise<number> {
    const stale = this.staleRecords();
    await this.reseal(stale, onStep);
    await onStep?.("resealed");
    if (this.ring.mode === "file" && existsSync(join(this.o.dataDir, NEXT_KEY_FILE))) {
      promoteNextKey(this.o.dataDir);
      await onStep?.("promoted");
    }
    this.keys = new Map([[this.current.id, this.current]]);
    return stale.length;
  }

  /**
   * What a guest worker gets at an install: the current values of the names given (the service's
   * granted secrets), null for one not stored; `unreadable` lists ones that do not decrypt.
   */
  snapshot(tenant: string, names: readonly string[]): SecretSnapshot {
    const values: [string, string | null][] = [];
    let unreadable: string[] | undefined;
    for (const name of names) {
      const e = this.entries.get(`${tenant}/${name}`);
      if (e === undefined) values.push([name, null]);
      else {
        try {
          if (e === DAMAGED) throw damaged(tenant, name);
          values.push([name, unseal(this.keys, tenant, name, e)]);
        } catch {
          values.push([name, null]);
          (unreadable ??= []).push(name);
        }
      }
    }
    return unreadable ? { seq: this.seq, values, unreadable } : { seq: this.seq, values };
  }

  private changed(tenant: string, name: string, value: string | null): void {
    this.seq++;
    this.onChange?.(tenant, name, value, this.seq);
  }

  /** Records sealed with a key other than the current one (damaged ones cannot be re-sealed). */
  private staleRecords(): string[] {
    const out: string[] = [];
    for (const [id, e] of this.entries) if (e !== DAMAGED && e.key !== this.current.id) out.push(id);
    return out;
  }

  /** Fails open, changing nothing, when a record is sealed with a key this host was not given. */
  private checkKeysKnown(): void {
    const missing = new Map<string, number>();
    for (const e of this.entries.values()) if (e !== DAMAGED && !this.keys.has(e.key)) missing.set(e.key, (missing.get(e.key) ?? 0) + 1);
    if (missing.size === 0) return;
    const what = [...missing].map(([id, n]) => `${n} under key ${id}`).join(", ");
    if (this.ring.mode === "env") {
      throw new SoloError("INVALID_ARGUMENT", `${MASTER_KEY_ENV} holds key ${this.current.id}, but the vault has secrets sealed with other keys (${what}); set ${MASTER_KEY_ENV} to the key they were sealed with, or give it as ${PREVIOUS_KEY_ENV} so they are re-sealed with the new one`, { field: MASTER_KEY_ENV, keyId: this.current.id, missing: [...missing.keys()] });
    }
    throw new SoloError("INTERNAL", `master.key holds key ${this.current.id}, but the vault has secrets sealed with other keys (${what}); restore the master.key those were sealed with, or start with ${MASTER_KEY_ENV} set to it`, { keyId: this.current.id, missing: [...missing.keys()] });
  }

  /** Re-seals the records `ids` under the current key, resealBatch per synced write. */
  private async reseal(ids: string[], onStep?: (step: string) => void | Promise<void>): Promise<void> {
    const size = this.o.resealBatch ?? RESEAL_BATCH;
    for (let i = 0, batch = 1; i < ids.length; i += size, batch++) {
      const records: [string, RecordValue][] = [];
      const sealed: [string, Entry][] = [];
      for (const id of ids.slice(i, i + size)) {
        const e = this.entries.get(id);
        if (e === undefined || e === DAMAGED) continue;
        const slash = id.indexOf("/");
        const tenant = id.slice(0, slash);
        const name = id.slice(slash + 1);
        let value: string;
        try {
          value = unseal(this.keys, tenant, name, e);
        } catch {
          // It does not decrypt (changed on disk): marked damaged, so that it names no key that
          // is about to be dropped. A read says so; a store replaces it.
          records.push([secretKey(tenant, name), JSON.stringify({ damaged: `did not decrypt under key ${e.key}`, version: e.version })]);
          sealed.push([id, DAMAGED]);
          continue;
        }
        const s = seal(this.current, tenant, name, e.version, value, { createdAt: e.createdAt, updatedAt: e.updatedAt });
        records.push([secretKey(tenant, name), JSON.stringify(s)]);
        sealed.push([id, s]);
      }
      if (records.length > 0) await this.o.storage.write({ records });
      for (const [id, s] of sealed) this.entries.set(id, s);
      await onStep?.(`batch ${batch}`);
    }
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writing.then(fn, fn);
    this.writing = run.catch(() => {});
    return run;
  }
}

function info(tenant: string, name: string, s: SealedSecret): SecretInfo {
  return { tenant, name, version: s.version, createdAt: new Date(s.createdAt).toISOString(), updatedAt: new Date(s.updatedAt).toISOString() };
}

function notFound(tenant: string, name: string): SoloError {
  return new SoloError("NOT_FOUND", `no secret ${name} in tenant ${tenant}; store it first (solo secret put ${tenant} ${name})`, { tenant, name });
}

function damaged(tenant: string, name: string): SoloError {
  return new SoloError("INTERNAL", `the stored record of secret ${name} of tenant ${tenant} is damaged and cannot be read; store the secret again (solo secret put)`, { tenant, name });
}
