export { EventStore, type AlsoWrite, type Retention } from "./event-store.ts";
export { readOnlyView, type EventLogView } from "./read-only.ts";
export { startRetention, type RetentionPolicy, type RetentionTimer } from "./retention.ts";
export { Subscription, type SubscribeOptions } from "./subscription.ts";
export { EVENT_TYPES, type EventType, type SoloEvent, type EventInput, type EventFilter } from "./types.ts";
export { IdGenerator } from "./ids.ts";
