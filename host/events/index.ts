export { EventStore, type Retention } from "./event-store.ts";
export { Subscription, type SubscribeOptions } from "./subscription.ts";
export { EVENT_TYPES, type EventType, type SoloEvent, type EventInput, type EventFilter } from "./types.ts";
export { IdGenerator } from "./ids.ts";
