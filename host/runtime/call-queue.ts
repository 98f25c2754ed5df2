// The calls waiting in one worker, served in fair order between calls. A call runs to its end (a
// worker cannot pause guest code), so fairness inside a worker can only choose what runs NEXT:
// each tenant's calls keep their order, and the next call is the oldest of the tenant whose calls
// have run least (start-time fair queueing: a tenant's virtual time is the wall ms its calls ran,
// and a tenant that was idle starts at the current virtual time, so idling earns no credit). A
// light tenant's call waits for the call running now, not for every call a heavy tenant queued.
//
// Every other message (install, uninstall, quota, reload-kv, prepare...) is a barrier: it runs
// after every call that arrived before it and before every call that arrived after it, which is
// the order the pool relies on. Costs: a Map lookup per call, and a scan of the tenants waiting
// when more than one is.

interface Waiting<M> {
  /** tenant -> its calls in arrival order (a FIFO read from `head`). */
  tenants: Map<string, { calls: QueuedCall[]; head: number }>;
  /** Runs once every call above has run. */
  barrier?: M;
}

export interface QueuedCall {
  id: number;
  key: string;
  request: string;
  tenant: string;
}

export class CallQueue<M> {
  private readonly segments: Waiting<M>[] = [];
  /** Each tenant's virtual time (ms its calls ran, floored at the clock when it became busy). */
  private readonly vtime = new Map<string, number>();
  /** The virtual clock: the virtual time of the call that started last. */
  private clock = 0;

  /** Nothing waits (a segment emptied by next() is dropped on the following next()). */
  get empty(): boolean {
    return this.segments.length === 0 || (this.segments.length === 1 && this.segments[0]!.tenants.size === 0 && this.segments[0]!.barrier === undefined);
  }

  push(call: QueuedCall): void {
    let last = this.segments[this.segments.length - 1];
    if (!last || last.barrier !== undefined) this.segments.push((last = { tenants: new Map() }));
    let q = last.tenants.get(call.tenant);
    if (!q) {
      last.tenants.set(call.tenant, (q = { calls: [], head: 0 }));
      const v = this.vtime.get(call.tenant);
      if (v === undefined || v < this.clock) this.vtime.set(call.tenant, this.clock);
    }
    q.calls.push(call);
  }

  barrier(msg: M): void {
    const last = this.segments[this.segments.length - 1];
    if (last && last.barrier === undefined) last.barrier = msg;
    else this.segments.push({ tenants: new Map(), barrier: msg });
  }

  /** The next call to run, or the next barrier message; undefined when nothing waits. */
  next(): { call: QueuedCall } | { barrier: M } | undefined {
    for (;;) {
      const seg = this.segments[0];
      if (!seg) return undefined;
      if (seg.tenants.size === 0) {
        this.segments.shift();
        if (seg.barrier !== undefined) return { barrier: seg.barrier };
        continue;
      }
      let tenant: string | undefined;
      let best = Infinity;
      if (seg.tenants.size === 1) tenant = seg.tenants.keys().next().value!;
      else {
        for (const t of seg.tenants.keys()) {
          const v = this.vtime.get(t) ?? 0;
          if (v < best) {
            best = v;
            tenant = t;
          }
        }
      }
      const q = seg.tenants.get(tenant!)!;
      const call = q.calls[q.head++]!;
      if (q.head === q.calls.length) seg.tenants.delete(tenant!);
      const v = this.vtime.get(tenant!) ?? 0;
      if (v > this.clock) this.clock = v;
      return { call };
    }
  }

  /** `call`, just taken by next(), goes back to the head of its tenant's queue (it runs next time, unless a fairer call came meanwhile). */
  putBack(call: QueuedCall): void {
    let first = this.segments[0];
    if (!first) this.segments.push((first = { tenants: new Map() }));
    const q = first.tenants.get(call.tenant);
    if (!q) first.tenants.set(call.tenant, { calls: [call], head: 0 });
    else if (q.head > 0) q.calls[--q.head] = call;
    else q.calls.unshift(call);
  }

  /** The call of `tenant` that ran took `ms`. */
  charge(tenant: string, ms: number): void {
    this.vtime.set(tenant, (this.vtime.get(tenant) ?? this.clock) + ms);
  }

  /** With nothing queued: forgets tenants whose virtual time is behind the clock (they would restart at it anyway). */
  prune(): void {
    if (this.segments.length > 0 || this.vtime.size < 64) return;
    for (const [t, v] of this.vtime) if (v <= this.clock) this.vtime.delete(t);
  }
}
