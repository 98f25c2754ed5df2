// The event log: append (group-committed, durable before it resolves), stream and get (served
// from per-batch secondary indexes), subscribe (replay, then live), verify (hash chain) and
// compact (retention with a checkpoint). Ids and bodies are made here, on the host thread;
// hashing, indexing and the disk write happen in the storage worker.
//
// A group commit acknowledges up to ~1024 appends at once. Resolving them all in one go would run
// every caller's continuation (often its next append) in one microtask drain: 10-70 ms of this
// thread. So durable appends are settled (subscribers told, promises resolved) in slices, one per
// turn of the event loop, each sized so that it and what it wakes cost about SLICE_MS.
import { SoloError, toSoloError } from "../errors.ts";
import type { KvWrite, RecordValue, Storage, VerifyReport } from "../storage/index.ts";
import { IdGenerator } from "./ids.ts";
import { Subscription, type SubscribeOptions } from "./subscription.ts";
import { EVENT_TYPES, type EventFilter, type EventInput, type SoloEvent } from "./types.ts";

const PAGE = 500;
const TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
/** What one slice may cost: settling appends and whatever their callers do next. */
const SLICE_MS = 1;
const MIN_SLICE = 32;
const MAX_SLICE = 4096;

/** The appends of one group commit, in id order, settled from `next` on. */
interface Group {
  durable: Promise<void>;
  events: SoloEvent[];
  resolves: ((e: SoloEvent) => void)[];
  rejects: ((e: SoloError) => void)[];
  /** Set when the commit failed: every append of the group rejects with it. */
  error: SoloError | undefined;
  next: number;
}

// toISOString costs ~0.3 us; at 100k events/s most share their millisecond.
let lastMs = 0;
let lastIso = "";
function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export interface Retention {
  /** Events older than this are compacted away (whole batches at a time). */
  maxAgeMs?: number;
  /** At most about this many events are kept (whole batches at a time). */
  maxEvents?: number;
}

/** Writes that must be durable exactly when the event is: an operation's records and kv. */
export interface AlsoWrite {
  /** Plain records: a value (text or bytes), or null to delete. */
  records?: [key: string, value: RecordValue][];
  kv?: [scope: string, writes: KvWrite[]];
}

export class EventStore {
  private readonly subscribers = new Set<Subscription>();
  private last: string | null;
  /** The group the next append joins, if its commit has not been sent yet. */
  private group: Group | undefined;
  /** Groups whose commit finished (durable or failed), waiting to be settled, oldest first. */
  private settling: Group[] = [];
  private draining = false;
  private slice = 256;

  private constructor(
    private readonly storage: Storage,
    private readonly ids: IdGenerator,
    lastId: string | null,
  ) {
    this.last = lastId;
  }

  static async open(storage: Storage): Promise<EventStore> {
    const meta = await storage.meta();
    return new EventStore(storage, new IdGenerator(meta.lastId), meta.lastId);
  }

  /** The newest durable event's id. */
  lastId(): string | null {
    return this.last;
  }

  /**
   * Records one event; resolves with it once it is on disk (fsynced, in its batch). A few us of
   * host CPU: an id, JSON.stringify, the UTF-8 copy, settling. `also` is written in the same synced batch: all of it and the event are durable, or
   * (the promise rejects) none of it is. Appends resolve in id order, each after its subscribers
   * were offered it.
   */
  append(input: EventInput, also?: AlsoWrite): Promise<SoloEvent> {
    if (!TYPES.has(input.type)) {
      return Promise.reject(new SoloError("INVALID_ARGUMENT", `unknown event type "${input.type}"`, { field: "type" }));
    }
    // Field order is the canonical body the chain hashes; the worker reads the id at offset 7.
    const ms = Date.now();
    const event: SoloEvent = {
      id: this.ids.next(ms),
      time: isoAt(ms),
      type: input.type,
      tenant: input.tenant,
      service: input.service,
      actor: input.actor ?? "local",
      data: input.data ?? {},
    };
    // The body (JSON.stringify(event)'s bytes) is written by the storage into its segment.
    const durable = also === undefined ? this.storage.writeEvent(event, event.tenant, event.service ?? "", event.type) : this.storage.write({ event: [event, [event.tenant, event.service ?? "", event.type]], records: also.records, kv: also.kv });
    // Appends sharing a commit share its promise: one group, one reaction for all of them.
    let group = this.group;
    if (group === undefined || group.durable !== durable) {
      const g: Group = { durable, events: [], resolves: [], rejects: [], error: undefined, next: 0 };
      durable.then(() => this.settle(g), (err) => ((g.error = toSoloError(err)), this.settle(g)));
      this.group = group = g;
    }
    const g = group;
    g.events.push(event);
    return new Promise<SoloEvent>((resolve, reject) => {
      g.resolves.push(resolve);
      g.rejects.push(reject);
    });
  }

  private settle(g: Group) {
    if (this.group === g) this.group = undefined;
    this.settling.push(g);
    if (!this.draining) {
      this.draining = true;
      setImmediate(this.drain);
    }
  }

  /**
   * Settles the next slice of finished appends, in order. The slice adapts to what the last one
   * cost: this loop and the continuations it woke (a microtask queued after them runs once they
   * have), not the rest of the turn nor time the thread spent preempted between turns. Halved past
   * SLICE_MS, grown by a quarter under half of it.
   */
  private readonly drain = () => {
    const started = performance.now();
    let left = this.slice;
    while (left > 0 && this.settling.length > 0) {
      const g = this.settling[0]!;
      const end = Math.min(g.events.length, g.next + left);
      left -= end - g.next;
      if (g.error === undefined) {
        for (let i = g.next; i < end; i++) {
          const event = g.events[i]!;
          if (this.last === null || event.id > this.last) this.last = event.id;
          for (const s of this.subscribers) s.offer(event);
          g.resolves[i]!(event);
        }
      } else {
        for (let i = g.next; i < end; i++) g.rejects[i]!(g.error);
      }
      g.next = end;
      if (end === g.events.length) this.settling.shift();
    }
    const full = left === 0;
    queueMicrotask(() => {
      const took = performance.now() - started;
      if (took > SLICE_MS) this.slice = Math.max(MIN_SLICE, this.slice >> 1);
      else if (full && took < SLICE_MS / 2) this.slice = Math.min(MAX_SLICE, this.slice + (this.slice >> 2));
    });
    if (this.settling.length > 0) setImmediate(this.drain);
    else this.draining = false;
  };

  /** Events matching the filter, in id order, read page by page. */
  async *stream(filter: EventFilter = {}): AsyncGenerator<SoloEvent> {
    let after = filter.after;
    let left = filter.limit ?? Infinity;
    for (;;) {
      const page = await this.page(filter, after, filter.before, Math.min(PAGE, left));
      for (const e of page) yield e;
      left -= page.length;
      if (page.length < PAGE || left <= 0) return;
      after = page[page.length - 1]!.id;
    }
  }

  /** Collects stream(filter) into an array (bounded by filter.limit). */
  async list(filter: EventFilter = {}): Promise<SoloEvent[]> {
    const out: SoloEvent[] = [];
    for await (const e of this.stream(filter)) out.push(e);
    return out;
  }

  async get(id: string): Promise<SoloEvent | undefined> {
    return ((await this.storage.get(id)) as SoloEvent | null) ?? undefined;
  }

  /** Replays stored events after `options.after`, then delivers new ones as they are durable. */
  subscribe(filter: EventFilter = {}, options: SubscribeOptions = {}): Subscription {
    const sub = new Subscription(filter, options, this.last, (after, before) => this.page(filter, after, before, PAGE), (s) => this.subscribers.delete(s));
    this.subscribers.add(sub);
    return sub;
  }

  verify(): Promise<VerifyReport> {
    return this.storage.verify();
  }

  /** Applies a retention policy now; returns how many events were removed. */
  async compact(retention: Retention): Promise<number> {
    const beforeTime = retention.maxAgeMs !== undefined ? new Date(Date.now() - retention.maxAgeMs).toISOString() : undefined;
    const { removed } = await this.storage.compact({ beforeTime, keepLast: retention.maxEvents });
    return removed;
  }

  /** Ends every subscription (they finish as done). */
  close(): void {
    for (const s of [...this.subscribers]) s.close();
  }

  private async page(filter: EventFilter, after: string | undefined, before: string | undefined, limit: number): Promise<SoloEvent[]> {
    if (limit <= 0) return [];
    return (await this.storage.query({ tenant: filter.tenant, service: filter.service, type: filter.type, after, before, limit })) as unknown as SoloEvent[];
  }
}
