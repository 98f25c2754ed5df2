// The operator's view of the event log: everything but append. A library user holding it cannot
// forge events in the tamper-evident log; only the host appends. A separate object, not a type
// over the store, so a cast cannot reach append either.
import type { VerifyReport } from "../storage/index.ts";
import type { EventStore } from "./event-store.ts";
import type { SubscribeOptions, Subscription } from "./subscription.ts";
import type { EventFilter, SoloEvent } from "./types.ts";

export interface EventLogView {
  /** The newest durable event's id. */
  lastId(): string | null;
  /** Events matching the filter, in id order, every tenant. */
  stream(filter?: EventFilter): AsyncGenerator<SoloEvent>;
  list(filter?: EventFilter): Promise<SoloEvent[]>;
  get(id: string): Promise<SoloEvent | undefined>;
  subscribe(filter?: EventFilter, options?: SubscribeOptions): Subscription;
  /** Walks the hash chain; reports the first broken link. */
  verify(): Promise<VerifyReport>;
}

export function readOnlyView(store: EventStore): EventLogView {
  return Object.freeze({
    lastId: () => store.lastId(),
    stream: (filter?: EventFilter) => store.stream(filter),
    list: (filter?: EventFilter) => store.list(filter),
    get: (id: string) => store.get(id),
    subscribe: (filter?: EventFilter, options?: SubscribeOptions) => store.subscribe(filter, options),
    verify: () => store.verify(),
  });
}
