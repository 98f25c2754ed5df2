// What a restart needs, written so that the store and the event log never disagree: a service's
// record and the event that announces it (deployed, killed) go to disk in ONE synced batch
// (EventStore.append with records), so either both are durable or neither is.
import { SoloError } from "../errors.ts";
import { artifactKey, quotaKey, serviceKey, versionKey, type KvWrite, type Storage } from "../storage/index.ts";
import type { AlsoWrite, EventInput, EventStore } from "../events/index.ts";
import { clipEventData } from "./event-clip.ts";
import type { ServiceRecord, StoredService } from "./service-record.ts";
import type { VersionRecord } from "./versions.ts";

type Records = NonNullable<AlsoWrite["records"]>;

export class Persistence {
  /** Artifacts already stored in the database (each is written once). */
  private readonly storedArtifacts = new Set<string>();
  /** Services (registered, recovering or being deployed) per artifact: the last kill deletes it. */
  private readonly users = new Map<string, number>();

  /** One more service uses the artifact (a deploy about to be written, a recovered record). */
  pin(hash: string): void {
    this.users.set(hash, (this.users.get(hash) ?? 0) + 1);
  }

  /** One service fewer; answers how many still use it. */
  unpin(hash: string): number {
    const left = (this.users.get(hash) ?? 1) - 1;
    if (left > 0) this.users.set(hash, left);
    else this.users.delete(hash);
    return left;
  }

  constructor(private readonly events: EventStore, private readonly storage: Storage) {}

  /** Appends an event, its strings and lists clipped; resolves once durable. */
  async record(e: EventInput): Promise<void> {
    await this.events.append(e.data ? { ...e, data: clipEventData(e.data) } : e);
  }

  /** The service's record, its first version and its artifact (first time), with its service_deployed event. */
  async deployed(rec: ServiceRecord, component: Uint8Array, version: VersionRecord, event: EventInput): Promise<void> {
    this.pin(rec.artifact);
    const storeArtifact = !this.storedArtifacts.has(rec.artifact);
    const records: Records = [[serviceKey(rec.tenant, rec.service), JSON.stringify(stored(rec))], [versionKey(rec.tenant, rec.service, version.version), JSON.stringify(version)]];
    if (storeArtifact) records.push([artifactKey(rec.artifact), component]); // bytes, as they are
    try {
      await this.durably(event, { records });
    } catch (err) {
      this.unpin(rec.artifact);
      throw err;
    }
    // Only once it is durable: a failed write must not keep the next deploy from storing it.
    if (storeArtifact) this.storedArtifacts.add(rec.artifact);
  }

  /**
   * Another version becomes current (a swap: `version` is its new record; a rollback: none), in
   * one batch with `kv` (what migrate wrote) and its event: on reopen exactly one of the two
   * versions is current, with the kv that goes with it. `before`/`after` are the artifacts the
   * service keeps stored (versions.ts keptArtifacts): those it no longer keeps and no other
   * service uses are deleted in the same batch; `component` is stored if it is not yet.
   */
  async switched(meta: StoredService, version: VersionRecord | undefined, component: Uint8Array | undefined, before: Set<string>, after: Set<string>, kv: [string, KvWrite[]] | undefined, event: EventInput): Promise<void> {
    const records: Records = [[serviceKey(meta.tenant, meta.service), JSON.stringify(stored(meta))]];
    if (version) records.push([versionKey(meta.tenant, meta.service, version.version), JSON.stringify(version)]);
    const added = [...after].filter((h) => !before.has(h));
    const dropped = [...before].filter((h) => !after.has(h));
    for (const h of added) this.pin(h);
    const deleted: string[] = [];
    for (const h of dropped) if (this.unpin(h) === 0) deleted.push(h);
    const storeArtifact = component !== undefined && !this.storedArtifacts.has(meta.artifact);
    if (storeArtifact) records.push([artifactKey(meta.artifact), component]);
    // Forgotten before the batch (as a kill does): a deploy of one of them meanwhile writes it again.
    for (const h of deleted) {
      records.push([artifactKey(h), null]);
      this.storedArtifacts.delete(h);
    }
    try {
      await this.durably(event, kv && kv[1].length > 0 ? { records, kv } : { records });
    } catch (err) {
      for (const h of added) this.unpin(h);
      for (const h of dropped) this.pin(h);
      throw err;
    }
    if (storeArtifact) this.storedArtifacts.add(meta.artifact);
  }

  /**
   * Deletes the service's record, its version history and every kv entry it has (`keys`, read
   * once no call can add one), with its service_killed event: a kill is durable whole, or not at all.
   */
  async killed(rec: ServiceRecord, keys: string[], event: EventInput): Promise<void> {
    const records: Records = [[serviceKey(rec.tenant, rec.service), null]];
    for (const v of rec.history) records.push([versionKey(rec.tenant, rec.service, v.version), null]);
    // The last service using an artifact takes it along. A deploy of the same artifact that
    // starts meanwhile writes it again, in a later batch, so it is never left without one.
    const kept = [...rec.kept];
    const deleted: string[] = [];
    for (const h of kept) if (this.unpin(h) === 0) deleted.push(h);
    for (const h of deleted) {
      records.push([artifactKey(h), null]);
      this.storedArtifacts.delete(h);
    }
    try {
      await this.durably(event, { records, kv: [rec.key, keys.map((k): KvWrite => [k, null])] });
    } catch (err) {
      for (const h of kept) this.pin(h);
      throw err;
    }
  }

  /** A tenant's quota override (null: none) with its quota_changed event, in one batch. */
  async quotasChanged(tenant: string, override: Record<string, number> | null, event: EventInput): Promise<void> {
    await this.durably(event, { records: [[quotaKey(tenant), override === null ? null : JSON.stringify(override)]] });
  }

  /** Every stored service record, as [key, raw value]: recovery parses each on its own. */
  storedServices(prefix: string): Promise<[string, string][]> {
    return this.storage.recordsWithPrefix(prefix);
  }

  /** A stored artifact's component bytes. */
  async artifactBytes(hash: string): Promise<Uint8Array> {
    const bytes = await this.storage.recordBytes(artifactKey(hash));
    if (!bytes) throw new SoloError("INTERNAL", `the stored artifact ${hash} is missing; kill the service and deploy it again`);
    this.storedArtifacts.add(hash);
    // Artifacts are stored as bytes; a data directory from before keeps them as base64 text.
    const isWasm = bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d;
    return isWasm ? bytes : new Uint8Array(Buffer.from(Buffer.from(bytes).toString("utf8"), "base64"));
  }

  private async durably(e: EventInput, also: AlsoWrite): Promise<void> {
    await this.events.append(e.data ? { ...e, data: clipEventData(e.data) } : e, also);
  }
}

function stored(rec: StoredService): StoredService {
  return {
    tenant: rec.tenant, service: rec.service, language: rec.language, limits: rec.limits, version: rec.version,
    deployedAt: rec.deployedAt, warnings: rec.warnings, artifact: rec.artifact, kind: rec.kind,
    capabilities: rec.capabilities, description: rec.description ?? "", tags: rec.tags ?? [], ...(rec.sourceHash ? { sourceHash: rec.sourceHash } : {}),
    ...(rec.previousVersion !== undefined ? { previousVersion: rec.previousVersion } : {}), ...(rec.file ? { file: rec.file } : {}),
  };
}
