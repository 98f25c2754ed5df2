// The host's metrics: a Telemetry that feeds prom-client, one Registry per host (never the
// global one, so two hosts in a process keep their figures apart). The call path only adds to
// plain per-tenant-label records (a few Map lookups, a bucket search, adds: ~0.35 us a call on
// a loaded 2-core machine, against ~2.4 us for prom-client's labelled inc and observe, whose
// label hashing dominates; bench/telemetry.ts);
// they are copied into prom-client's counters, and the latency histogram is read straight from
// them, when a scraper asks. Figures that are states (memory per tenant, queue depth, services,
// open breakers) are read from the host at that moment too (sample()), so they cost nothing in
// between.
//
// Label cardinality is bounded by construction:
//   tenant   the topK most active tenants, the rest "_other" (tenant-labels.ts): <= topK + 1
//   code     "OK" or a SoloError code (a closed set, host/errors.ts)
//   worker   a worker's index (the pool's size)
//   reason   "deadline" or "crash" (a worker restart's message is not a label)
//   outcome  "ok", "cached" (read back from an earlier build, no builder) or a SoloError code
//   state    closed | open | half-open
// No service and no token is ever a label: breakers are counted per state, not per service.
// emit() and measure() take caller-chosen names and labels: at most MAX_DYNAMIC metrics, and
// past MAX_SERIES label sets per metric every further set is folded into "_other" values.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { SoloError } from "../errors.ts";
import type { BreakerState, Telemetry } from "./telemetry.ts";
import { OTHER, TenantLabels, type TenantLabelOptions } from "./tenant-labels.ts";

export interface MetricsOptions extends TenantLabelOptions {
  /** Node's process metrics (CPU, heap, event-loop lag, GC); default true. */
  processMetrics?: boolean;
}

/** What the host tells the metrics when a scraper asks: states, not events. */
export interface MetricsSample {
  /** Guest memory (bytes) per tenant: the tenant's instances' linear memory. */
  tenantMemory: Iterable<[tenant: string, bytes: number]>;
  /** Calls posted to each worker and not answered yet (queued or running), by worker index. */
  queueDepth?: readonly number[];
  /** Services by state ("running", "failed"). */
  services: Record<string, number>;
  /** Services whose circuit breaker is open or half-open (read from their status: a kill forgets them). */
  breakers?: { open: number; "half-open": number };
  workers: number;
}

const CALL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const APPEND_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];
const BUILD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const MEASURE_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60];
const MAX_DYNAMIC = 64;
const MAX_SERIES = 100;
const NAME = /^[a-z][a-z0-9_]{0,62}$/;
/** A tenant name as host/services/names.ts allows it. */
const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const BREAKER_STATES: BreakerState[] = ["closed", "open", "half-open"];

/** The content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** One tenant label's call figures, added to on the call path. */
class CallSeries {
  /** Answers by code ("OK" or a SoloError code). */
  readonly codes = new Map<string, number>();
  /** Calls whose latency fell in each bucket (not cumulative); past the last bound only in count. */
  readonly buckets = new Float64Array(CALL_BUCKETS.length);
  sum = 0;
  count = 0;
  fuel = 0;
  shed = 0;
}

/**
 * solo_call_duration_seconds, read from the CallSeries at a scrape: prom-client renders whatever a
 * registered metric's get() answers, so the histogram needs no observe() on the call path.
 */
class CallHistogram {
  readonly name = "solo_call_duration_seconds";
  readonly help = "Time from Host.call to its answer, by tenant.";
  readonly type = "histogram";
  readonly aggregator = "sum";
  constructor(private readonly series: Map<string, CallSeries>) {}

  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [tenant, s] of this.series) {
      if (s.count === 0) continue;
      let acc = 0;
      for (let i = 0; i < CALL_BUCKETS.length; i++) {
        acc += s.buckets[i]!;
        values.push({ labels: { le: CALL_BUCKETS[i]!, tenant }, value: acc, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: "+Inf", tenant }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { tenant }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { tenant }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {}
}

export class Metrics implements Telemetry {
  readonly registry = new Registry();
  readonly tenants: TenantLabels;
  private readonly calls: Counter<"tenant" | "code">;
  /** The call path's figures by tenant label; copied into the counters at each scrape. */
  private readonly series = new Map<string, CallSeries>();
  private readonly fuel: Counter<"tenant">;
  private readonly shedCalls: Counter<"tenant">;
  private readonly memory: Gauge<"tenant">;
  private readonly queue: Gauge<"worker">;
  private readonly breakers: Gauge<"state">;
  private readonly breakerChanges: Counter<"state">;
  private readonly appendSeconds: Histogram;
  private readonly batchEvents: Histogram;
  private readonly restarts: Counter<"reason">;
  private readonly builds: Counter<"outcome">;
  private readonly buildSeconds: Histogram;
  private readonly services: Gauge<"state">;
  private readonly workers: Gauge;
  /** Queue depths reported through queueDepth() (the pool), by worker. */
  private readonly depths: number[] = [];
  /** Without a sampler only: services whose breaker is not closed, "tenant/service" → state. */
  private readonly breakerStates = new Map<string, BreakerState>();
  /** Memory reported through tenantMemory(), by tenant (the sample's figures win). */
  private readonly pushedMemory = new Map<string, number>();
  private readonly dynamic = new Map<string, { metric: Counter<string> | Histogram<string>; labels: readonly string[]; seen: Set<string> }>();
  private sampler: (() => MetricsSample) | undefined;

  constructor(options: MetricsOptions = {}) {
    const registers = [this.registry];
    this.tenants = new TenantLabels(options, (t) => this.dropTenant(t));
    this.calls = new Counter({ name: "solo_calls_total", help: "Calls answered, by tenant (top tenants, the rest _other) and code (OK or the SoloError code).", labelNames: ["tenant", "code"], registers });
    this.registry.registerMetric(new CallHistogram(this.series) as unknown as Histogram);
    this.fuel = new Counter({ name: "solo_call_fuel_total", help: "Fuel units used by answered calls, by tenant.", labelNames: ["tenant"], registers });
    this.shedCalls = new Counter({ name: "solo_calls_shed_total", help: "Calls refused at admission (load shedding), by tenant.", labelNames: ["tenant"], registers });
    const self = this;
    this.memory = new Gauge({ name: "solo_tenant_memory_bytes", help: "Linear memory of the tenant's instances, by tenant (top tenants, the rest summed in _other).", labelNames: ["tenant"], registers });
    this.queue = new Gauge({ name: "solo_queue_depth", help: "Calls posted to a worker and not answered yet (queued or running), by worker.", labelNames: ["worker"], registers });
    this.breakers = new Gauge({ name: "solo_circuit_breakers", help: "Services by circuit-breaker state (closed: every other service).", labelNames: ["state"], registers });
    this.breakerChanges = new Counter({ name: "solo_circuit_breaker_transitions_total", help: "Circuit-breaker state changes, by the state entered.", labelNames: ["state"], registers });
    this.appendSeconds = new Histogram({ name: "solo_event_append_seconds", help: "Event-store batches: time from the first append to durable (fsynced).", buckets: APPEND_BUCKETS, registers });
    this.batchEvents = new Histogram({ name: "solo_event_batch_events", help: "Event-store batches: events per batch (group commit).", buckets: BATCH_BUCKETS, registers });
    this.restarts = new Counter({ name: "solo_worker_restarts_total", help: "Guest workers replaced, by reason (deadline: the watchdog; crash: the thread died).", labelNames: ["reason"], registers });
    this.builds = new Counter({ name: "solo_builds_total", help: "Builds (validate, compile, meter) finished, by outcome (ok, cached: read back from an earlier build, or the SoloError code).", labelNames: ["outcome"], registers });
    this.buildSeconds = new Histogram({ name: "solo_build_duration_seconds", help: "Time a build took in the builder process, queue included.", buckets: BUILD_BUCKETS, registers });
    this.services = new Gauge({ name: "solo_services", help: "Services by state.", labelNames: ["state"], registers });
    this.workers = new Gauge({ name: "solo_workers", help: "Guest worker threads.", registers });
    new Gauge({ name: "solo_tenant_label_slots", help: "Tenants that have their own tenant label (at most the top-K setting).", registers, collect() { this.set(self.tenants.labelled().size); } });
    for (const s of BREAKER_STATES) this.breakers.set({ state: s }, 0);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "solo_" });
  }

  /** Where states come from at each scrape (the host). */
  sampleWith(sampler: () => MetricsSample): void {
    this.sampler = sampler;
  }

  // ---- Telemetry ----

  callDone(tenant: string, code: string, seconds: number, fuel: number): void {
    // A name the host would refuse (INVALID_ARGUMENT) never takes a label of its own.
    const s = this.seriesOf(TENANT.test(tenant) ? this.tenants.count(tenant) : OTHER);
    s.codes.set(code, (s.codes.get(code) ?? 0) + 1);
    let i = 0;
    while (i < CALL_BUCKETS.length && seconds > CALL_BUCKETS[i]!) i++;
    if (i < CALL_BUCKETS.length) s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
    if (fuel > 0) s.fuel += fuel;
  }

  shed(tenant: string): void {
    this.seriesOf(TENANT.test(tenant) ? this.tenants.of(tenant) : OTHER).shed++;
  }

  private seriesOf(label: string): CallSeries {
    let s = this.series.get(label);
    if (!s) this.series.set(label, (s = new CallSeries()));
    return s;
  }

  breaker(tenant: string, service: string, state: BreakerState): void {
    // Every report is a change (a re-open from half-open reports "open" again), so each counts.
    this.breakerChanges.inc({ state });
    // With a sampler (a host), states are read from the services at a scrape: a map kept here
    // would keep a killed service's open breaker for ever (a kill reports nothing).
    if (this.sampler) return;
    const key = `${tenant}/${service}`;
    if (state === "closed") this.breakerStates.delete(key);
    else this.breakerStates.set(key, state);
  }

  queueDepth(worker: number, depth: number): void {
    if (Number.isInteger(worker) && worker >= 0 && worker < 4096) this.depths[worker] = depth;
  }

  workerRestart(_worker: number, reason: string): void {
    this.restarts.inc({ reason: reason === "deadline" ? "deadline" : "crash" });
  }

  eventsAppended(count: number, seconds: number): void {
    this.appendSeconds.observe(seconds);
    this.batchEvents.observe(count);
  }

  build(outcome: string, seconds: number): void {
    this.builds.inc({ outcome });
    this.buildSeconds.observe(seconds);
  }

  tenantMemory(tenant: string, bytes: number): void {
    this.pushedMemory.set(tenant, bytes);
  }

  emit(name: string, value: number, labels: Record<string, string> = {}): void {
    const d = this.dynamicMetric(name, "counter", labels);
    if (d && value > 0 && Number.isFinite(value)) (d.metric as Counter<string>).inc(this.boundLabels(d, labels), value);
  }

  measure<T>(name: string, fn: () => T): T {
    const d = this.dynamicMetric(name, "histogram", {});
    if (!d) return fn();
    const started = performance.now();
    const observe = () => (d.metric as Histogram<string>).observe((performance.now() - started) / 1000);
    let out: T;
    try {
      out = fn();
    } catch (err) {
      observe();
      throw err;
    }
    if (out instanceof Promise) return out.finally(observe) as T;
    observe();
    return out;
  }

  // ---- the text ----

  /**
   * The Prometheus text of every metric. With `tenant`, only what that tenant may see: series
   * without a tenant label (host-wide figures) and its own; other tenants' and "_other" dropped.
   */
  async text(tenant?: string): Promise<string> {
    this.tenants.maybeRerank();
    this.collectStates();
    const all = await this.registry.metrics();
    if (tenant === undefined) return all;
    const own = `tenant="${tenant}"`;
    return all
      .split("\n")
      .filter((line) => line.startsWith("#") || !line.includes('tenant="') || line.includes(`{${own}`) || line.includes(`,${own}`))
      .join("\n");
  }

  // ---- inside ----

  private collectStates(): void {
    // The call path's figures into prom-client: whole totals, so a tenant dropped from the labels
    // (its record deleted) simply is not there any more.
    this.calls.reset();
    this.fuel.reset();
    this.shedCalls.reset();
    for (const [tenant, c] of this.series) {
      for (const [code, n] of c.codes) this.calls.inc({ tenant, code }, n);
      if (c.fuel > 0) this.fuel.inc({ tenant }, c.fuel);
      if (c.shed > 0) this.shedCalls.inc({ tenant }, c.shed);
    }
    const s = this.sampler?.();
    const memory = new Map<string, number>();
    const add = (tenant: string, bytes: number) => {
      const label = this.tenants.of(tenant);
      memory.set(label, (memory.get(label) ?? 0) + bytes);
    };
    const sampled = new Set<string>();
    if (s) {
      for (const [t, b] of s.tenantMemory) {
        sampled.add(t);
        add(t, b);
      }
    }
    for (const [t, b] of this.pushedMemory) if (!sampled.has(t)) add(t, b);
    this.memory.reset();
    for (const [label, bytes] of memory) this.memory.set({ tenant: label }, bytes);

    const depths = s?.queueDepth ?? this.depths;
    this.queue.reset();
    for (let i = 0; i < depths.length; i++) this.queue.set({ worker: String(i) }, depths[i] ?? 0);

    const counts: Record<BreakerState, number> = { closed: 0, open: 0, "half-open": 0 };
    if (s?.breakers) {
      counts.open = s.breakers.open;
      counts["half-open"] = s.breakers["half-open"];
    } else {
      for (const state of this.breakerStates.values()) counts[state]++;
    }
    const total = s ? Object.values(s.services).reduce((a, b) => a + b, 0) : this.breakerStates.size;
    counts.closed = Math.max(0, total - counts.open - counts["half-open"]);
    for (const state of BREAKER_STATES) this.breakers.set({ state }, counts[state]);

    this.services.reset();
    if (s) {
      for (const [state, n] of Object.entries(s.services)) this.services.set({ state }, n);
      this.workers.set(s.workers);
    }
  }

  /** A tenant lost its label: its series go (its figures count in _other from now on). */
  private dropTenant(tenant: string): void {
    this.series.delete(tenant);
  }

  private dynamicMetric(name: string, kind: "counter" | "histogram", labels: Record<string, string>) {
    if (!NAME.test(name)) throw new SoloError("INVALID_ARGUMENT", `a metric name must be 1-63 of a-z, 0-9 and _, starting with a letter; got ${JSON.stringify(name).slice(0, 80)}`, { field: "name" });
    const full = kind === "counter" ? `solo_${name}_total` : `solo_${name}_seconds`;
    let d = this.dynamic.get(full);
    if (!d) {
      if (this.dynamic.size >= MAX_DYNAMIC) return undefined;
      const labelNames = Object.keys(labels).sort();
      const metric =
        kind === "counter"
          ? new Counter({ name: full, help: `Emitted figure ${name}.`, labelNames, registers: [this.registry] })
          : new Histogram({ name: full, help: `Time taken by ${name}.`, labelNames, buckets: MEASURE_BUCKETS, registers: [this.registry] });
      d = { metric, labels: labelNames, seen: new Set() };
      this.dynamic.set(full, d);
    }
    return d;
  }

  /** The labels as declared at the metric's first use; past MAX_SERIES label sets, "_other" values. */
  private boundLabels(d: { labels: readonly string[]; seen: Set<string> }, labels: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const k of d.labels) out[k] = k === "tenant" ? this.tenants.of(String(labels[k] ?? "")) : String(labels[k] ?? "");
    const key = d.labels.map((k) => out[k]).join("\u0000");
    if (!d.seen.has(key)) {
      if (d.seen.size >= MAX_SERIES) for (const k of d.labels) out[k] = OTHER;
      else d.seen.add(key);
    }
    return out;
  }
}
