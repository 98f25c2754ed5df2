// Telemetry: what the host reports to metrics (Prometheus text at GET /metrics). Every component
// that has a figure takes `telemetry?: Telemetry` in its options and calls it as things happen;
// the default does nothing, so a component works the same without metrics. Each method must stay
// cheap (a map lookup and an add): they run on the call path.
//
// Wiring: Host.open makes one Telemetry per host and passes it as `telemetry` to
// `new Supervisor({...})` (SupervisorOptions.telemetry) and `new WorkerPool({...})`
// (PoolOptions.telemetry); both fields are `telemetry?: Telemetry`, read as
// `options.telemetry ?? NOOP_TELEMETRY`. Things the supervisor creates (admission, breakers) get
// it from the supervisor. The supervisor reports callDone for every call Host.call makes (where
// the call ends, from Host.call's clock reading), and Host.open reports worker restarts, builds
// and event-store batches: components need not.

/** A circuit breaker's state (host/governance). */
export type BreakerState = "closed" | "open" | "half-open";

export interface Telemetry {
  /** A call answered: code "OK" or the SoloError code; seconds from Host.call to the reply; fuel used (0 if unknown). */
  callDone(tenant: string, code: string, seconds: number, fuel: number): void;
  /** Admission refused a call at once (load shedding). */
  shed(tenant: string): void;
  /** A service's breaker changed state (or reports it); "closed" again after a swap or redeploy. */
  breaker(tenant: string, service: string, state: BreakerState): void;
  /** Calls waiting for worker `worker` (its queue), after a change. */
  queueDepth(worker: number, depth: number): void;
  /** Worker `worker` was replaced (watchdog, crash, heap limit). */
  workerRestart(worker: number, reason: string): void;
  /** One event-store batch written: how many events, how long the append took. */
  eventsAppended(count: number, seconds: number): void;
  /** One build finished: "ok" or the error code; seconds it took. */
  build(outcome: string, seconds: number): void;
  /** A tenant's guest memory (its instances' linear memory, bytes) now. */
  tenantMemory(tenant: string, bytes: number): void;
  /** A free-form figure: a counter named `name` (solo_ prefix added) increased by value. */
  emit(name: string, value: number, labels?: Record<string, string>): void;
  /** Runs fn and records how long it took (until its promise settles) in histogram `name`. */
  measure<T>(name: string, fn: () => T): T;
}

/** Does nothing: what a component uses when it is given no telemetry. */
export const NOOP_TELEMETRY: Telemetry = Object.freeze({
  callDone() {},
  shed() {},
  breaker() {},
  queueDepth() {},
  workerRestart() {},
  eventsAppended() {},
  build() {},
  tenantMemory() {},
  emit() {},
  measure<T>(_name: string, fn: () => T): T {
    return fn();
  },
});
