// The audit: one look at everything that can be wrong with a running host, as
// { status: healthy | degraded | failing, components: {...} }. Each component says its own status,
// a one-line summary and details; the host's status is the worst of them.
//
//   events        the hash chain. Incremental: the auditor keeps the newest event it verified
//                 (id and hash, in memory) and checks only batches appended since, so an audit
//                 costs the new events, not the log. The first audit after open, and one asked
//                 with { full: true }, walk the whole log: a point kept on disk could be edited
//                 together with the events. A broken chain: failing.
//   storage       a synced probe write and read (m:probe); failing when it throws. Free disk
//                 space under 256 MiB: degraded.
//   workers       a worker with no thread (it could not be re-created): failing; 3 or more
//                 restarts in the last 5 minutes: degraded.
//   tenants       any quota with a use at 80% of its limit or more: degraded (near or over).
//   services      crash loops (status().crashes: 2 or more in a row), failed services, open or half-open breakers:
//                 degraded; the host itself still serves the others.
//   tokens        live grants that expire within 24 h: degraded.
//   certificates  <dataDir>/tls/*.pem: expired CA or server certificate: failing (no client can
//                 connect); any other expired, or any expiring within 30 days: degraded.
import { X509Certificate } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { toSoloError } from "../errors.ts";
import type { GrantInfo } from "../capability/index.ts";
import type { TenantUsage } from "../governance/index.ts";
import type { ServiceStatus } from "../services/index.ts";
import type { IncrementalReport, VerifiedPoint } from "../storage/index.ts";

export type AuditStatus = "healthy" | "degraded" | "failing";

export interface AuditComponent {
  status: AuditStatus;
  /** One line for a person. */
  summary: string;
  details: Record<string, unknown>;
}

export const AUDIT_COMPONENTS = ["events", "storage", "workers", "tenants", "services", "tokens", "certificates"] as const;
export type AuditComponentName = (typeof AUDIT_COMPONENTS)[number];

export interface AuditReport {
  status: AuditStatus;
  /** When the audit ran (ISO time). */
  checkedAt: string;
  durationMs: number;
  components: Record<AuditComponentName, AuditComponent>;
}

export interface AuditOptions {
  /** Verify the whole event chain, not only what was appended since the last audit. */
  full?: boolean;
}

/** Where each threshold lies; exported for docs and tests. */
export const AUDIT_THRESHOLDS = {
  /** A quota used at this share of its limit or more is "near". */
  quotaShare: 0.8,
  tokenExpiryMs: 24 * 3600 * 1000,
  certificateExpiryMs: 30 * 24 * 3600 * 1000,
  restartWindowMs: 5 * 60 * 1000,
  restartsDegraded: 3,
  freeBytesDegraded: 256 * 1024 * 1024,
} as const;

/** Crashes in a row (no success between) that make a crash loop: one trap is a bad request, two is a pattern. */
const CRASH_LOOP = 2;

/** Lists in details stop at this many entries (`count` says how many there were). */
const LIST_MAX = 50;

/** What the auditor reads; the host gives it its parts. */
export interface AuditSources {
  dataDir: string;
  storage: { verifyFrom(from?: VerifiedPoint): Promise<IncrementalReport>; probe(): Promise<{ wroteMs: number }> };
  /** Every service of every tenant. */
  services(): ServiceStatus[];
  usage(tenant: string): TenantUsage;
  grants(): GrantInfo[];
  /** Each guest worker: whether it has a thread. */
  workers(): { worker: number; alive: boolean }[];
  now(): number;
}

const rank: Record<AuditStatus, number> = { healthy: 0, degraded: 1, failing: 2 };
const worst = (a: AuditStatus, b: AuditStatus): AuditStatus => (rank[b] > rank[a] ? b : a);
const capped = <T>(list: T[]) => list.slice(0, LIST_MAX);

export class Auditor {
  /** The newest event verified so far; undefined until the first audit (which walks everything). */
  private verified: VerifiedPoint | undefined;
  /** Events verified over this host's life, and audits run. */
  private totals = { events: 0, audits: 0, full: 0 };
  private readonly restartTimes: number[] = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly s: AuditSources) {}

  /** A worker was replaced (the host tells it): counted for "restarts recently". */
  workerRestarted(): void {
    this.restartTimes.push(this.s.now());
    if (this.restartTimes.length > 256) this.restartTimes.splice(0, this.restartTimes.length - 256);
  }

  /** One audit; audits run one at a time (a second waits for the first). */
  run(options: AuditOptions = {}): Promise<AuditReport> {
    const next = this.running.then(() => this.runNow(options));
    this.running = next.catch(() => {});
    return next;
  }

  private async runNow(options: AuditOptions): Promise<AuditReport> {
    const started = performance.now();
    const now = this.s.now();
    const [events, storage] = await Promise.all([this.events(options.full === true), this.storage()]);
    const services = this.s.services();
    const components: Record<AuditComponentName, AuditComponent> = {
      events,
      storage,
      workers: this.workers(now),
      tenants: this.tenants(services),
      services: this.servicesComponent(services),
      tokens: this.tokens(now),
      certificates: this.certificates(now),
    };
    let status: AuditStatus = "healthy";
    for (const c of Object.values(components)) status = worst(status, c.status);
    this.totals.audits++;
    return { status, checkedAt: new Date(now).toISOString(), durationMs: Math.round((performance.now() - started) * 100) / 100, components };
  }

  private async events(full: boolean): Promise<AuditComponent> {
    let r: IncrementalReport;
    try {
      r = await this.s.storage.verifyFrom(full ? undefined : this.verified);
    } catch (err) {
      const e = toSoloError(err);
      return { status: "failing", summary: `the event chain could not be read: ${e.message}`, details: { error: e.toJSON() } };
    }
    this.totals.events += r.checked;
    if (r.full) this.totals.full++;
    const details: Record<string, unknown> = { checked: r.checked, full: r.full, verifiedTo: r.to?.id ?? this.verified?.id ?? null, totalChecked: this.totals.events };
    if (!r.ok) {
      // The point stays where it was: the next audit checks the same stretch again and fails again.
      return { status: "failing", summary: `the event chain is broken at ${r.brokenAt}: ${r.reason}`, details: { ...details, brokenAt: r.brokenAt, reason: r.reason } };
    }
    if (r.to) this.verified = r.to;
    return { status: "healthy", summary: `${r.checked} event(s) verified${r.full ? " (the whole log)" : " since the last audit"}`, details };
  }

  private async storage(): Promise<AuditComponent> {
    let free: number | undefined;
    try {
      const fs = statfsSync(this.s.dataDir);
      free = Number(fs.bavail) * Number(fs.bsize);
    } catch {
      // Not every file system answers statfs: free space is then unknown, not a failure.
    }
    try {
      const { wroteMs } = await this.s.storage.probe();
      const details: Record<string, unknown> = { writable: true, probeMs: Math.round(wroteMs * 100) / 100, ...(free !== undefined && { freeBytes: free }) };
      if (free !== undefined && free < AUDIT_THRESHOLDS.freeBytesDegraded) return { status: "degraded", summary: `only ${Math.round(free / 1024 / 1024)} MiB free on the data directory's disk; free some space`, details };
      return { status: "healthy", summary: `a synced probe write took ${details.probeMs} ms`, details };
    } catch (err) {
      const e = toSoloError(err);
      return { status: "failing", summary: `storage does not take writes: ${e.message}`, details: { writable: false, error: e.toJSON(), ...(free !== undefined && { freeBytes: free }) } };
    }
  }

  private workers(now: number): AuditComponent {
    const workers = this.s.workers();
    const stopped = workers.filter((w) => !w.alive).map((w) => w.worker);
    const since = now - AUDIT_THRESHOLDS.restartWindowMs;
    const recent = this.restartTimes.filter((t) => t >= since).length;
    const details = { workers: workers.length, alive: workers.length - stopped.length, stopped, restartsRecently: recent, windowMs: AUDIT_THRESHOLDS.restartWindowMs };
    if (stopped.length > 0) return { status: "failing", summary: `worker(s) ${stopped.join(", ")} have no thread (could not be re-created); restart the host`, details };
    if (recent >= AUDIT_THRESHOLDS.restartsDegraded) return { status: "degraded", summary: `${recent} worker restarts in the last ${AUDIT_THRESHOLDS.restartWindowMs / 60000} minutes (guests past their deadline, or crashing threads)`, details };
    return { status: "healthy", summary: `${workers.length} worker(s) alive, ${recent} restart(s) in the last ${AUDIT_THRESHOLDS.restartWindowMs / 60000} minutes`, details };
  }

  private tenants(services: ServiceStatus[]): AuditComponent {
    const names = [...new Set(services.map((s) => s.tenant))].sort();
    const near: { tenant: string; quota: string; used: number; limit: number; share: number }[] = [];
    for (const tenant of names) {
      let usage: TenantUsage;
      try {
        usage = this.s.usage(tenant);
      } catch {
        continue; // killed meanwhile
      }
      for (const [quota, q] of Object.entries(usage.quotas) as [string, { limit: number; used?: number }][]) {
        if (q.used === undefined || q.limit <= 0) continue;
        const share = q.used / q.limit;
        if (share >= AUDIT_THRESHOLDS.quotaShare) near.push({ tenant, quota, used: q.used, limit: q.limit, share: Math.round(share * 1000) / 1000 });
      }
    }
    const over = near.filter((n) => n.share >= 1);
    const details = { tenants: names.length, count: near.length, near: capped(near) };
    if (near.length === 0) return { status: "healthy", summary: `${names.length} tenant(s), none at ${AUDIT_THRESHOLDS.quotaShare * 100}% of a quota`, details };
    const first = near[0]!;
    return { status: "degraded", summary: `${near.length} quota(s) at ${AUDIT_THRESHOLDS.quotaShare * 100}% or more (${over.length} over), e.g. tenant ${first.tenant} ${first.quota} ${first.used}/${first.limit}`, details };
  }

  private servicesComponent(services: ServiceStatus[]): AuditComponent {
    const crashLooping = services.filter((s) => s.crashes && s.crashes.consecutive >= CRASH_LOOP && s.state !== "failed").map((s) => ({ tenant: s.tenant, service: s.service, consecutive: s.crashes!.consecutive }));
    const failed = services.filter((s) => s.state === "failed").map((s) => ({ tenant: s.tenant, service: s.service, code: s.failure?.code }));
    // Breakers from the services' own status only: a killed service (and its breaker) is gone.
    const open = services.filter((s) => s.circuit.state !== "closed").map((s) => ({ tenant: s.tenant, service: s.service, state: s.circuit.state }));
    const details = { services: services.length, crashLooping: capped(crashLooping), failed: capped(failed), openBreakers: capped(open), count: crashLooping.length + failed.length + open.length };
    const parts: string[] = [];
    if (crashLooping.length) parts.push(`${crashLooping.length} crashing in a row`);
    if (failed.length) parts.push(`${failed.length} failed`);
    if (open.length) parts.push(`${open.length} with an open breaker`);
    if (parts.length === 0) return { status: "healthy", summary: `${services.length} service(s), none crashing, failed or refused by a breaker`, details };
    return { status: "degraded", summary: `${parts.join(", ")} (of ${services.length}); see details`, details };
  }

  private tokens(now: number): AuditComponent {
    const soon = this.s
      .grants()
      .filter((g) => !g.revoked && g.expiresAt > now && g.expiresAt - now <= AUDIT_THRESHOLDS.tokenExpiryMs)
      .sort((a, b) => a.expiresAt - b.expiresAt)
      .map((g) => ({ id: g.id, tenant: g.tenant, expiresAt: new Date(g.expiresAt).toISOString(), ...(g.note !== undefined && { note: g.note }) }));
    const details = { count: soon.length, expiringSoon: capped(soon), withinMs: AUDIT_THRESHOLDS.tokenExpiryMs };
    if (soon.length === 0) return { status: "healthy", summary: "no live token expires within 24 h", details };
    return { status: "degraded", summary: `${soon.length} token(s) expire within 24 h (first: ${soon[0]!.id} of tenant ${soon[0]!.tenant} at ${soon[0]!.expiresAt}); grant new ones to their holders`, details };
  }

  private certificates(now: number): AuditComponent {
    const dir = join(this.s.dataDir, "tls");
    if (!existsSync(dir)) return { status: "healthy", summary: "no certificates (no server was started on this data directory)", details: { checked: [] } };
    const checked: { file: string; subject: string; expiresAt: string; daysLeft: number }[] = [];
    const unreadable: { file: string; error: string }[] = [];
    let status: AuditStatus = "healthy";
    const problems: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".pem") && !f.endsWith("-key.pem")).sort()) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(readFileSync(join(dir, file)));
      } catch (err) {
        unreadable.push({ file, error: (err as Error).message });
        status = worst(status, "degraded");
        problems.push(`${file} cannot be read`);
        continue;
      }
      const until = Date.parse(cert.validTo);
      const daysLeft = Math.floor((until - now) / 86_400_000);
      checked.push({ file, subject: cert.subject.replace(/\n/g, ", "), expiresAt: new Date(until).toISOString(), daysLeft });
      const vital = file === "ca.pem" || file === "server.pem";
      if (until <= now) {
        status = worst(status, vital ? "failing" : "degraded");
        problems.push(`${file} expired at ${new Date(until).toISOString()}`);
      } else if (until - now <= AUDIT_THRESHOLDS.certificateExpiryMs) {
        status = worst(status, "degraded");
        problems.push(`${file} expires in ${daysLeft} day(s)`);
      }
    }
    const details = { checked, ...(unreadable.length && { unreadable }) };
    if (problems.length === 0) return { status, summary: `${checked.length} certificate(s), none expiring within 30 days`, details };
    return { status, summary: `${problems.join("; ")}; replace them (docs/OPERATIONS.md, Certificates)`, details };
  }
}
