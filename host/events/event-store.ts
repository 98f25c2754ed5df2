// The event log: append (group-committed, durable before it resolves), stream and get (served
// from per-batch secondary indexes), subscribe (replay, then live), verify (hash chain) and
// compact (retention with a checkpoint). Ids and bodies are made here, on the host thread;
// hashing, indexing and the disk write happen in the storage worker.
import { SoloError } from "../errors.ts";
import type { KvWrite, RecordValue, Storage, VerifyReport } from "../storage/index.ts";
import { IdGenerator } from "./ids.ts";
import { Subscription, type SubscribeOptions } from "./subscription.ts";
import { EVENT_TYPES, type EventFilter, type EventInput, type SoloEvent } from "./types.ts";

const PAGE = 500;

// toISOString costs ~0.3 us; at 100k events/s most share their millisecond.
let lastMs = 0;
let lastIso = "";
function isoNow(): string {
  const ms = Date.now();
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
   * Records one event; resolves with it once it is on disk (fsynced, in its batch). ~10-20 us of
   * host CPU. `also` is written in the same synced batch: all of it and the event are durable, or
   * (the promise rejects) none of it is.
   */
  append(input: EventInput, also?: AlsoWrite): Promise<SoloEvent> {
    if (!(EVENT_TYPES as readonly string[]).includes(input.type)) {
      return Promise.reject(new SoloError("INVALID_ARGUMENT", `unknown event type "${input.type}"`, { field: "type" }));
    }
    const event: SoloEvent = {
      id: this.ids.next(),
      time: isoNow(),
      type: input.type,
      tenant: input.tenant,
      service: input.service,
      actor: input.actor ?? "local",
      data: input.data ?? {},
    };
    // Field order is the canonical body the chain hashes; the worker reads the id at offset 7.
    const body = JSON.stringify({ id: event.id, time: event.time, type: event.type, tenant: event.tenant, service: event.service, actor: event.actor, data: event.data });
    return this.storage.write({ event: [body, [event.tenant, event.service ?? "", event.type]], records: also?.records, kv: also?.kv }).then(() => {
      if (this.last === null || event.id > this.last) this.last = event.id;
      for (const s of this.subscribers) s.offer(event);
      return event;
    });
  }

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
