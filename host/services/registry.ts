// The services that are registered (callable, listed), tenant by tenant, and the worker each
// tenant's services run on (placement.ts may move a tenant between calls; deploys, kills and swaps
// of a tenant wait while it moves). A service is registered only once its record and event are durable.
//
// Isolation: every lookup is by (tenant, service); a tenant asking for another tenant's service
// gets NOT_FOUND, the same answer as for a service that does not exist.
import { SoloError } from "../errors.ts";
import { infoOf, type ServiceInfo, type ServiceRecord } from "./service-record.ts";

export class Registry {
  private readonly tenants = new Map<string, Map<string, ServiceRecord>>();
  private readonly tenantWorker = new Map<string, number>();
  /** Names being deployed or killed right now: a deploy of one is ALREADY_EXISTS. */
  private readonly busy = new Set<string>();
  /** Tenants being moved to another worker (placement.ts): settles when the move has ended. */
  private readonly moves = new Map<string, Promise<void>>();

  /** The hot path's lookup: names are not checked (a registered name is valid by construction). */
  find(tenant: string, service: string): ServiceRecord | undefined {
    return this.tenants.get(tenant)?.get(service);
  }

  get(tenant: string, service: string): ServiceRecord {
    const rec = this.find(tenant, service);
    if (!rec) throw new SoloError("NOT_FOUND", `service ${service} not found in tenant ${tenant}`, { tenant, service });
    return rec;
  }

  add(rec: ServiceRecord): void {
    let services = this.tenants.get(rec.tenant);
    if (!services) this.tenants.set(rec.tenant, (services = new Map()));
    services.set(rec.service, rec);
  }

  remove(rec: ServiceRecord): void {
    const services = this.tenants.get(rec.tenant);
    if (services?.get(rec.service) === rec) services.delete(rec.service);
  }

  /** Claims a name for a deploy or a kill; false if it is registered or claimed already. */
  claim(key: string, registered: boolean): boolean {
    if (registered || this.busy.has(key)) return false;
    this.busy.add(key);
    return true;
  }

  release(key: string): void {
    this.busy.delete(key);
  }

  isBusy(key: string): boolean {
    return this.busy.has(key);
  }

  /** How many services the tenant has registered (a deploy's quota check; no sort). */
  count(tenant: string): number {
    return this.tenants.get(tenant)?.size ?? 0;
  }

  services(tenant: string): ServiceRecord[] {
    const services = this.tenants.get(tenant);
    if (!services) return [];
    return [...services.keys()].sort().map((s) => services.get(s)!);
  }

  /**
   * The tenant's services with their metadata, by name: those named `name` and tagged `tag` when
   * given, and that `may` lets through (a session: the services its token may call).
   */
  discover(tenant: string, filter: { name?: string; tag?: string } = {}, may: (service: string) => boolean = () => true): ServiceInfo[] {
    const out: ServiceInfo[] = [];
    for (const rec of this.services(tenant)) {
      if (filter.name !== undefined && rec.service !== filter.name) continue;
      if (filter.tag !== undefined && !(rec.tags ?? []).includes(filter.tag)) continue;
      if (may(rec.service)) out.push(infoOf(rec));
    }
    return out;
  }

  *all(): Iterable<ServiceRecord> {
    for (const services of this.tenants.values()) yield* services.values();
  }

  byKey(key: string): ServiceRecord | undefined {
    const slash = key.indexOf("/");
    return this.find(key.slice(0, slash), key.slice(slash + 1));
  }

  /** The tenant's worker, if it has been given one. */
  workerOf(tenant: string): number | undefined {
    return this.tenantWorker.get(tenant);
  }

  /** A tenant's services share one worker, chosen (least loaded) when its first one starts. */
  workerFor(tenant: string, leastLoaded: () => number): number {
    let w = this.tenantWorker.get(tenant);
    if (w === undefined) this.tenantWorker.set(tenant, (w = leastLoaded()));
    return w;
  }

  /** Every tenant that has been given a worker, with it. */
  placements(): IterableIterator<[string, number]> {
    return this.tenantWorker.entries();
  }

  /** The tenant's services run on `worker` from now on (placement.ts, once they are installed there). */
  placeTenant(tenant: string, worker: number): void {
    this.tenantWorker.set(tenant, worker);
    for (const rec of this.services(tenant)) rec.worker = worker;
  }

  /** A deploy or kill of one of the tenant's services is under way (a name of it is claimed). */
  claimedIn(tenant: string): boolean {
    const prefix = `${tenant}/`;
    for (const key of this.busy) if (key.startsWith(prefix)) return true;
    return false;
  }

  /** Marks the tenant as moving until `done` settles (it must never reject). */
  moving(tenant: string, done: Promise<void>): void {
    this.moves.set(tenant, done);
    void done.then(() => {
      if (this.moves.get(tenant) === done) this.moves.delete(tenant);
    });
  }

  isMoving(tenant: string): boolean {
    return this.moves.has(tenant);
  }

  /** Resolves once no move of the tenant is under way: what touches its worker waits for this. */
  async settled(tenant: string): Promise<void> {
    let m: Promise<void> | undefined;
    while ((m = this.moves.get(tenant))) await m;
  }
}
