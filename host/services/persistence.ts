// What a restart needs, written so that the store and the event log never disagree: a service's
// record and the event that announces it (deployed, killed) go to disk in ONE synced batch
// (EventStore.append with records), so either both are durable or neither is.
import { SoloError } from "../errors.ts";
import { artifactKey, serviceKey, type KvWrite, type Storage } from "../storage/index.ts";
import type { AlsoWrite, EventInput, EventStore } from "../events/index.ts";
import { clipEventData } from "./event-clip.ts";
import type { ServiceRecord, StoredService } from "./service-record.ts";

type Records = NonNullable<AlsoWrite["records"]>;

export class Persistence {
  /** Artifacts already stored in the database (each is written once). */
  private readonly storedArtifacts = new Set<string>();

  constructor(private readonly events: EventStore, private readonly storage: Storage) {}

  /** Appends an event, its strings and lists clipped; resolves once durable. */
  async record(e: EventInput): Promise<void> {
    await this.events.append(e.data ? { ...e, data: clipEventData(e.data) } : e);
  }

  /** The service's record (and its artifact, first time), with its service_deployed event. */
  async deployed(rec: ServiceRecord, component: Uint8Array, event: EventInput): Promise<void> {
    const storeArtifact = !this.storedArtifacts.has(rec.artifact);
    const records: Records = [[serviceKey(rec.tenant, rec.service), JSON.stringify(stored(rec))]];
    if (storeArtifact) records.push([artifactKey(rec.artifact), Buffer.from(component).toString("base64")]);
    await this.durably(event, { records });
    // Only once it is durable: a failed write must not keep the next deploy from storing it.
    if (storeArtifact) this.storedArtifacts.add(rec.artifact);
  }

  /**
   * Deletes the service's record and every kv entry it has (`keys`, read once no call can add
   * one), with its service_killed event: a kill is durable whole, or not at all.
   */
  async killed(rec: ServiceRecord, keys: string[], event: EventInput): Promise<void> {
    await this.durably(event, { records: [[serviceKey(rec.tenant, rec.service), null]], kv: [rec.key, keys.map((k): KvWrite => [k, null])] });
  }

  /** Every stored service record, as [key, raw value]: recovery parses each on its own. */
  storedServices(prefix: string): Promise<[string, string][]> {
    return this.storage.recordsWithPrefix(prefix);
  }

  /** A stored artifact's component bytes. */
  async artifactBytes(hash: string): Promise<Uint8Array> {
    const [entry] = await this.storage.recordsWithPrefix(artifactKey(hash));
    if (!entry || entry[0] !== artifactKey(hash)) throw new SoloError("INTERNAL", `the stored artifact ${hash} is missing; kill the service and deploy it again`);
    this.storedArtifacts.add(hash);
    return new Uint8Array(Buffer.from(entry[1], "base64"));
  }

  private async durably(e: EventInput, also: AlsoWrite): Promise<void> {
    await this.events.append(e.data ? { ...e, data: clipEventData(e.data) } : e, also);
  }
}

function stored(rec: ServiceRecord): StoredService {
  return {
    tenant: rec.tenant, service: rec.service, language: rec.language, limits: rec.limits, version: rec.version,
    deployedAt: rec.deployedAt, warnings: rec.warnings, artifact: rec.artifact, kind: rec.kind,
  };
}
