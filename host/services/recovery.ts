// Brings back every service stored before a restart, from its stored artifact (no compile), with
// its committed kv. One bad record (unreadable, artifact missing, fails to start) fails that
// service alone: it is listed as failed with the reason and a service_deployment_failed event
// (phase "recover"); the others come back.
//
// Each service is started at open, under its limits, as it was when deployed: a record proves
// its start ran then, but not that it runs now (quotas may have been lowered since, the meter's
// costs may have changed, start code may read the clock or kv), and a start that fails here is
// reported where the operator looks (phase "recover"), not at some tenant's first call. Services
// sharing an artifact read, check and compile it once.
import { SoloError, toSoloError } from "../errors.ts";
import type { Artifact, ArtifactStore } from "../build/index.ts";
import type { WorkerPool } from "../runtime/index.ts";
import { SERVICES, VERSIONS, type KvStore } from "../storage/index.ts";
import { checkLanguage } from "../compile/index.ts";
import { builtBySolo, defaultFile } from "./build.ts";
import { DEFAULT_LIMITS, resolveLimits } from "./limits.ts";
import { resolveGuestCapabilities } from "../capability/guest.ts";
import type { Denials } from "./denials.ts";
import { instanceLimits } from "./instance-limits.ts";
import type { Persistence } from "./persistence.ts";
import type { Registry } from "./registry.ts";
import { newRecord, type StoredService } from "./service-record.ts";
import { keptArtifacts, type VersionRecord } from "./versions.ts";
import { storedMeta } from "./service-meta.ts";

export interface RecoveryParts {
  registry: Registry;
  persistence: Persistence;
  artifacts: ArtifactStore;
  pool: WorkerPool;
  kv: KvStore;
  /** Called before a tenant's service is installed on its worker (the tenant's quota goes first). */
  beforeInstall?: (tenant: string, worker: number) => void;
  denials: Denials;
}

/** Resolves to how many services came back running. */
export async function recoverServices(p: RecoveryParts): Promise<number> {
  let recovered = 0;
  const histories = await loadHistories(p.persistence);
  // Services sharing an artifact read, check and adopt it once (a stored artifact is read back, hashed and compiled otherwise).
  const artifacts = new Map<string, Promise<Artifact>>();
  // service_recovered events go into group commits together; open waits for them all at the end.
  const recorded: Promise<unknown>[] = [];
  for (const [k, value] of await p.persistence.storedServices(SERVICES)) {
    const name = k.slice(SERVICES.length);
    const slash = name.indexOf("/");
    const tenant = name.slice(0, slash);
    const service = name.slice(slash + 1);
    let meta: StoredService | undefined;
    let history: VersionRecord[] | undefined;
    try {
      meta = parse(value, tenant, service);
      history = histories.get(name);
      // Its kept artifacts stay until a kill, recovered or not.
      for (const h of keptArtifacts(history?.length ? history : [{ version: meta.version, artifact: meta.artifact } as VersionRecord], meta.version)) p.persistence.pin(h);
      const m = meta;
      const trust = m.kind !== "javy" && builtBySolo(m.language);
      const memo = `${m.kind === "javy" ? "javy" : trust ? "trusted" : "component"}:${m.artifact}`;
      let adopted = artifacts.get(memo);
      if (!adopted) {
        adopted = p.persistence.artifactBytes(m.artifact).then((bytes) =>
          // Solo built TypeScript and JavaScript services itself: their glue is trusted again.
          m.kind === "javy" ? p.artifacts.fromJavy(bytes) : p.artifacts.fromComponent(bytes, trust));
        artifacts.set(memo, adopted);
      }
      const artifact = await adopted;
      const worker = p.registry.workerFor(tenant, () => p.pool.leastLoaded());
      const key = `${tenant}/${service}`;
      p.beforeInstall?.(tenant, worker);
      const onDenied = (denied: string[]) => void p.denials.record(tenant, service, denied);
      const file = meta.file ?? defaultFile(service, meta.language);
      // Proven at its deploy; the host re-creates it at a moment it chose (a busy start): `recreating`.
      const memoryBytes = await p.pool.install(worker, { key, run: artifact.run, file, limits: instanceLimits(meta.limits), loadKv: () => p.kv.load(key), capabilities: meta.capabilities, onDenied }, undefined, true);
      p.registry.add(newRecord(meta, worker, artifact, memoryBytes, history));
      recorded.push(p.persistence.record({ type: "service_recovered", tenant, service, data: { version: meta.version, artifact: meta.artifact } }).catch(() => {}));
      recovered++;
    } catch (err) {
      const e = toSoloError(err);
      // Listed as failed (calls UNAVAILABLE) so the agent sees why and can kill and redeploy it.
      const rec = newRecord(meta ?? placeholder(tenant, service), p.registry.workerFor(tenant, () => p.pool.leastLoaded()), undefined, 0, history);
      rec.failure = { code: e.code, message: `it could not be recovered after a restart: ${e.message}` };
      p.registry.add(rec);
      recorded.push(p.persistence.record({ type: "service_deployment_failed", tenant, service, data: { phase: "recover", code: e.code, message: e.message } }).catch(() => {}));
    }
  }
  await Promise.all(recorded);
  return recovered;
}

/** Every service's version records, by "tenant/service", oldest first; unreadable ones are skipped. */
async function loadHistories(persistence: Persistence): Promise<Map<string, VersionRecord[]>> {
  const out = new Map<string, VersionRecord[]>();
  for (const [k, value] of await persistence.storedServices(VERSIONS)) {
    const name = k.slice(VERSIONS.length, k.lastIndexOf(":"));
    try {
      const v = JSON.parse(value) as VersionRecord;
      if (typeof v?.version !== "number" || typeof v.artifact !== "string") continue;
      let list = out.get(name);
      if (!list) out.set(name, (list = []));
      list.push(v);
    } catch {
      // A damaged record loses that version's history line, not the service.
    }
  }
  return out;
}

function parse(value: string, tenant: string, service: string): StoredService {
  let meta: StoredService;
  try {
    meta = JSON.parse(value) as StoredService;
  } catch (err) {
    throw new SoloError("INTERNAL", `its stored record is not valid JSON (${(err as Error).message}); kill the service and deploy it again`);
  }
  if (!meta || typeof meta !== "object" || typeof meta.artifact !== "string") throw new SoloError("INTERNAL", "its stored record has no artifact; kill the service and deploy it again");
  return { ...meta, tenant, service, language: checkLanguage(meta.language), limits: resolveLimits(meta.limits, DEFAULT_LIMITS), capabilities: resolveGuestCapabilities(meta.capabilities), ...storedMeta(meta) };
}

/** What a failed service whose record could not be read is listed with. */
function placeholder(tenant: string, service: string): StoredService {
  return { tenant, service, language: "component", limits: { ...DEFAULT_LIMITS }, version: 0, deployedAt: "", warnings: [], artifact: "", kind: "", capabilities: resolveGuestCapabilities(undefined) };
}
