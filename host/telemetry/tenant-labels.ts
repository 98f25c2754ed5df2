// Which tenants get their own `tenant` label: the topK most active, the rest share "_other". A
// Prometheus series costs memory in the host and in every scraper for as long as it lives, so the
// number of tenant values is what bounds the metrics' size: at most topK + 1, whatever the number
// of tenants. Slots are handed out first come until topK are taken; every rerankMs (checked at
// each scrape and each new tenant, no timer) the ranking is redone by decayed activity (half the
// old score plus the calls since), and a tenant that drops out loses its series (its figures go
// to "_other" from then on; a counter that vanishes is what Prometheus expects of a series that
// is gone).
//
// Cost per call: one Map get and set, one Set lookup. Memory: at most `tracked` (10,000) tenants
// are counted between two rankings, so a flood of made-up tenant names cannot grow it; past that
// many names in one period a new tenant is counted (and can rank) from the next period on.

export const OTHER = "_other";

export interface TenantLabelOptions {
  /** Tenants with their own label; default 20. */
  topK?: number;
  /** How often the ranking is redone, ms; default 60 s. */
  rerankMs?: number;
  /** Tenants whose activity is counted between rankings; default 10,000 (~1 MB at most). */
  tracked?: number;
  /** The clock (ms); tests drive it. */
  now?: () => number;
}

export class TenantLabels {
  readonly topK: number;
  private readonly rerankMs: number;
  private readonly tracked: number;
  private readonly now: () => number;
  /** Tenants that have a label of their own. */
  private readonly slots = new Set<string>();
  /** Calls since the last ranking, per tenant. */
  private calls = new Map<string, number>();
  /** Decayed activity as of the last ranking. */
  private score = new Map<string, number>();
  private rankedAt: number;

  constructor(options: TenantLabelOptions = {}, private readonly onDrop: (tenant: string) => void = () => {}) {
    this.topK = Math.max(0, Math.floor(options.topK ?? 20));
    this.rerankMs = options.rerankMs ?? 60_000;
    this.tracked = Math.max(this.topK, options.tracked ?? 10_000);
    this.now = options.now ?? Date.now;
    this.rankedAt = this.now();
  }

  /** The label for one unit of the tenant's activity (a call), counted toward its rank. */
  count(tenant: string): string {
    const n = this.calls.get(tenant);
    if (n !== undefined) this.calls.set(tenant, n + 1);
    else if (this.calls.size < this.tracked) this.calls.set(tenant, 1);
    if (this.slots.has(tenant)) return tenant;
    if (this.slots.size < this.topK) {
      this.slots.add(tenant);
      return tenant;
    }
    this.maybeRerank();
    return this.slots.has(tenant) ? tenant : OTHER;
  }

  /** The tenant's label now, without counting anything. */
  of(tenant: string): string {
    return this.slots.has(tenant) ? tenant : OTHER;
  }

  /** The tenants that have their own label. */
  labelled(): ReadonlySet<string> {
    return this.slots;
  }

  /** Redoes the ranking if rerankMs has passed since the last one. */
  maybeRerank(): void {
    if (this.now() - this.rankedAt >= this.rerankMs) this.rerank();
  }

  /** Ranks by decayed activity: the topK keep or get a label, the others lose theirs (onDrop). */
  rerank(): void {
    this.rankedAt = this.now();
    const decayed = new Map<string, number>();
    for (const [t, s] of this.score) if (s >= 1) decayed.set(t, s / 2);
    for (const [t, n] of this.calls) decayed.set(t, (decayed.get(t) ?? 0) + n);
    this.calls = new Map();
    // Keep only the `tracked` busiest scores: the map stays bounded however many names were seen.
    const ranked = [...decayed].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    this.score = new Map(ranked.slice(0, this.tracked));
    // The busiest topK get a slot; a labelled tenant outside them keeps its slot only while there
    // is room (no busier tenant wants it), so quiet periods do not churn series.
    const next = new Set(ranked.slice(0, this.topK).map(([t]) => t));
    for (const t of this.slots) {
      if (next.has(t)) continue;
      if (next.size < this.topK) next.add(t);
      else this.onDrop(t);
    }
    this.slots.clear();
    for (const t of next) this.slots.add(t);
  }
}
