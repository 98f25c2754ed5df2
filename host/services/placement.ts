// Fair placement of tenants on workers: one tenant's heavy calls must not make another tenant's
// light calls wait behind them. A worker runs one call at a time to its end, so a light call queued
// behind a 100 ms call waits 100 ms; nothing inside the worker can change that. What can: keep
// heavy tenants off the threads light tenants use, and let the OS prefer light threads.
//
//   - Tenants start on the shared workers (one per core), placed where the measured load is least.
//   - A tenant is *heavy* when one of its calls is charged heavyCallMs or more (seen when it
//     answers), or its calls of 1 ms or more keep a shared worker busy for heavyShare of a load
//     window (shorter ones are interleaved fairly by the worker's queue). It is moved, between
//     calls, to an isolated worker: a thread started on demand (up to isolatedWorkers, then heavy
//     tenants share them) at a lower OS priority (nice), so the OS runs light tenants' threads and
//     the API thread first whenever the cores are contended.
//   - An isolated tenant quiet (under half of heavyShare) for lightAfterMs moves back to a shared
//     worker, so a tenant heavy once is not slowed for ever. Its first heavy call there runs on the
//     shared worker (up to its deadline: seconds) before it is moved again, so a tenant that keeps
//     coming back (quiet, back, heavy at once, isolated...) must stay quiet twice as long each
//     time (lightAfterMs * 2^n after n such relapses, n at most 10: ~3 h at the default); one that
//     stayed shared ten times that long before it was heavy again starts from lightAfterMs.
//
// A move keeps every promise a tenant's services make: all of them move together (calls between
// them run in-worker), new calls wait at a gate (as in swap.ts), calls in flight finish and commit,
// each service is installed on the new worker from its committed kv with the pool's install spec
// (which a replaced worker re-creates from), and only then does the tenant's worker change and the
// old instances go. A move never starts while one of the tenant's services is being deployed,
// killed or swapped, and those wait while it moves. If any install on the new worker fails, the
// ones made are dropped and the tenant stays where it was.
//
// Costs: the heavy tenant's calls wait during its move (for its calls in flight and the installs; a
// new isolated thread loads first, ~50-300 ms, while the tenant still runs where it is); each
// isolated thread costs its memory (~30-60 MB); a moved service's per-service emit budget starts
// full again, as on a replaced worker.
import { availableParallelism } from "node:os";
import { SoloError } from "../errors.ts";
import type { TenantLoad, WorkerPool } from "../runtime/index.ts";
import type { Governor } from "../governance/index.ts";
import type { Registry } from "./registry.ts";
import type { ServiceRecord } from "./service-record.ts";

export interface FairnessSettings {
  /** Isolated (low-priority) workers heavy tenants may be moved to, started on demand; 0: none, nobody moves. */
  isolatedWorkers: number;
  /** A call running this long marks its tenant heavy. */
  heavyCallMs: number;
  /** The share of a shared worker's time (0-1) over a load window that marks a tenant heavy. */
  heavyShare: number;
  /** An isolated tenant under heavyShare / 2 for this long goes back to a shared worker. */
  lightAfterMs: number;
  /** The OS nice value of isolated workers (0-19; per thread on Linux). */
  nice: number;
  /** How often each tenant's load is measured. */
  loadWindowMs: number;
}

export const DEFAULT_FAIRNESS: FairnessSettings = {
  isolatedWorkers: Math.max(2, availableParallelism()),
  heavyCallMs: 20,
  heavyShare: 0.1,
  lightAfterMs: 10_000,
  nice: 10,
  loadWindowMs: 500,
};

/** How long a tenant whose move failed stays where it is before placement tries again. */
const RETRY_AFTER_FAILED_MOVE_MS = 10_000;

export function fairnessSettings(o: Partial<FairnessSettings> = {}): FairnessSettings {
  const s = { ...DEFAULT_FAIRNESS };
  const bounds: Record<keyof FairnessSettings, [number, number]> = {
    isolatedWorkers: [0, 256], heavyCallMs: [1, 600_000], heavyShare: [0.001, 1], lightAfterMs: [0, 86_400_000], nice: [0, 19], loadWindowMs: [10, 60_000],
  };
  for (const k of Object.keys(o) as (keyof FairnessSettings)[]) {
    if (!Object.hasOwn(bounds, k)) throw new SoloError("INVALID_ARGUMENT", `fairness.${String(k)} is not a setting; use ${Object.keys(bounds).join(", ")}`, { field: `fairness.${String(k)}` });
    const v = o[k];
    const [min, max] = bounds[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      throw new SoloError("INVALID_ARGUMENT", `fairness.${k} must be a number from ${min} to ${max}`, { field: `fairness.${k}` });
    }
    s[k] = v;
  }
  return s;
}

export interface PlacementParts {
  registry: Registry;
  pool: WorkerPool;
  governor: Governor;
  /** Resolves once no call of the service is in flight. */
  idle: (rec: ServiceRecord) => Promise<void>;
}

/** What placement has done (host.stats()). */
export interface PlacementStats {
  /** Tenants moved to an isolated worker, and back to a shared one. */
  isolations: number;
  returns: number;
  /** Moves that failed (the tenant stayed where it was). */
  failedMoves: number;
  isolatedWorkers: number;
}

export class Placement {
  private readonly stats = { isolations: 0, returns: 0, failedMoves: 0 };
  /** Isolated tenants quiet since (ms). */
  private readonly quietSince = new Map<string, number>();
  /** Tenants whose last move failed, and when. */
  private readonly failedAt = new Map<string, number>();
  /** Tenants waiting for their isolated worker's thread to load (they run where they are meanwhile). */
  private readonly pending = new Set<string>();
  /** Workers that moves under way are moving tenants to. */
  private readonly targets = new Map<number, number>();
  /** Tenants moved back to a shared worker: when, and how many times in a row they were isolated again soon after. */
  private readonly returned = new Map<string, { at: number; strikes: number }>();

  constructor(private readonly p: PlacementParts, readonly settings: FairnessSettings) {}

  counters(): PlacementStats {
    return { ...this.stats, isolatedWorkers: this.p.pool.isolatedCount };
  }

  /** A call of `tenant` on `worker` answered, charged `ms` (pool.ts: charged). */
  onLongCall(tenant: string, worker: number, ms: number): void {
    if (ms >= this.settings.heavyCallMs) this.heavy(tenant, worker);
  }

  /** A load window ended: heavy tenants on shared workers go, quiet isolated ones come back. */
  onLoad(loads: TenantLoad[]): void {
    const { pool, registry } = this.p;
    const busyIsolated = new Set<string>();
    for (const l of loads) {
      if (!pool.isIsolated(l.worker)) {
        if (l.share >= this.settings.heavyShare) this.heavy(l.tenant, l.worker);
      } else if (l.share >= this.settings.heavyShare / 2) busyIsolated.add(l.tenant);
    }
    const now = Date.now();
    for (const [tenant, worker] of registry.placements()) {
      if (!pool.isIsolated(worker) || busyIsolated.has(tenant)) {
        this.quietSince.delete(tenant);
        continue;
      }
      const since = this.quietSince.get(tenant);
      if (since === undefined) this.quietSince.set(tenant, now);
      else if (now - since >= this.quietNeeded(tenant) && this.movable(tenant)) {
        this.quietSince.delete(tenant);
        void this.move(tenant, worker, pool.leastLoaded(), "returns");
      }
    }
  }

  /** How long an isolated tenant must stay quiet to go back: lightAfterMs, doubled per strike. */
  private quietNeeded(tenant: string): number {
    return this.settings.lightAfterMs * 2 ** (this.returned.get(tenant)?.strikes ?? 0);
  }

  private heavy(tenant: string, worker: number): void {
    const { pool, registry } = this.p;
    if (this.settings.isolatedWorkers === 0 || pool.isIsolated(worker) || registry.workerOf(tenant) !== worker || !this.movable(tenant)) return;
    const failed = this.failedAt.get(tenant);
    if (failed !== undefined && Date.now() - failed < RETRY_AFTER_FAILED_MOVE_MS) return;
    const to = pool.isolatedFor(new Set(this.targets.keys()));
    if (to === undefined) return;
    // Heavy again within ten times the quiet it was held to after its last return: a strike (it
    // must stay quiet twice as long next time); later than that, a clean slate. Taken now, not
    // when the move ends (a new thread may take long to load).
    const back = this.returned.get(tenant);
    if (back) {
      if (Date.now() - back.at < 10 * this.quietNeeded(tenant)) back.strikes = Math.min(10, back.strikes + 1);
      else this.returned.delete(tenant);
    }
    void this.move(tenant, worker, to, "isolations");
  }

  /** Nothing else is changing the tenant's services: no move, deploy, kill or swap under way. */
  private movable(tenant: string): boolean {
    const { registry } = this.p;
    if (this.pending.has(tenant) || registry.isMoving(tenant) || registry.claimedIn(tenant)) return false;
    const services = registry.services(tenant);
    return services.length > 0 && services.every((rec) => !rec.switching && !rec.gate);
  }

  /** Moves every service of the tenant from `from` to `to` between calls (see the top of the file). */
  private async move(tenant: string, from: number, to: number, kind: "isolations" | "returns"): Promise<void> {
    const { registry, pool, governor } = this.p;
    this.targets.set(to, (this.targets.get(to) ?? 0) + 1);
    const done = () => {
      const n = this.targets.get(to)! - 1;
      if (n === 0) this.targets.delete(to);
      else this.targets.set(to, n);
    };
    // A thread still loading (a new one: ~50-300 ms) loads first, while the tenant still runs
    // where it is: its calls wait at the gate only for the switch itself.
    if (!pool.isLoaded(to)) {
      this.pending.add(tenant);
      try {
        await pool.ready(to);
      } catch {
        this.pending.delete(tenant);
        done();
        return; // the pool is closing
      }
      this.pending.delete(tenant);
      if (registry.workerOf(tenant) !== from || !this.movable(tenant)) return done();
    }
    const recs = registry.services(tenant);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    registry.moving(tenant, gate);
    for (const rec of recs) rec.gate = gate;
    try {
      // Calls in flight finish and commit on the old worker; their kv is then the committed kv.
      await Promise.all(recs.map((rec) => this.p.idle(rec)));
      const specs = recs.flatMap((rec) => {
        const spec = pool.installedSpec(from, rec.key);
        return spec ? [spec] : []; // a failed service has no instance: only its record moves
      });
      pool.setQuota(to, tenant, governor.workerQuota(tenant));
      // A service with no live instance moves without one (scale to zero): its next call makes it.
      // A move to an isolated worker (a fresh thread, at a lower OS priority) gets the host's floor
      // for its starts (RECREATE_DEADLINE_MS); a return to a shared one keeps the service's own
      // deadline, so a slow start never holds the neighbours' thread longer than that.
      const made = await Promise.allSettled(specs.map((spec) => pool.install(to, spec, pool.isLive(from, spec.key) ? undefined : { memoryBytes: 0 }, kind === "isolations")));
      const failure = made.find((m) => m.status === "rejected");
      if (failure) {
        // The tenant stays whole on its worker: what was made on the new one goes.
        await Promise.all(specs.map((spec, i) => (made[i]!.status === "fulfilled" ? pool.uninstall(to, spec.key).catch(() => {}) : undefined)));
        this.stats.failedMoves++;
        this.failedAt.set(tenant, Date.now());
        // telemetry: emit("tenant_move_failures", 1)
        return;
      }
      // The newest quota, in case an operator changed it meanwhile (setQuotas reads the registry).
      pool.setQuota(to, tenant, governor.workerQuota(tenant));
      registry.placeTenant(tenant, to);
      this.failedAt.delete(tenant);
      this.stats[kind]++;
      if (kind === "returns") this.returned.set(tenant, { at: Date.now(), strikes: this.returned.get(tenant)?.strikes ?? 0 });
      // telemetry: emit(kind === "isolations" ? "tenant_isolations" : "tenant_returns", 1) when host/telemetry lands.
      for (const spec of specs) void pool.uninstall(from, spec.key).catch(() => {});
    } catch {
      this.stats.failedMoves++;
      this.failedAt.set(tenant, Date.now());
    } finally {
      for (const rec of recs) if (rec.gate === gate) rec.gate = undefined;
      done();
      open();
    }
  }
}
