// Events: immutable records of everything that happens, with monotonic ids.

export const EVENT_TYPES = [
  "service_deployed", "service_deployment_failed", "service_killed", "service_crashed",
  "service_restarted", "service_recovered", "service_failed", "capability_granted", "capability_revoked",
  "capability_verified", "capability_denied", "resource_violation", "load_shed",
  "circuit_opened", "circuit_closed", "hot_swap_started", "hot_swap_succeeded", "hot_swap_failed",
  "hot_swap_rolled_back", "secret_stored", "secret_accessed", "secret_access_denied",
  "secret_revoked", "guest_event", "quota_changed", "secrets_rotated",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface SoloEvent {
  /** A ULID: strictly increasing, also across restarts. */
  id: string;
  /** ISO 8601, UTC. */
  time: string;
  type: EventType;
  tenant: string;
  service?: string;
  /** Who caused it: the caller's identity ("local" until authentication exists). */
  actor: string;
  data: Record<string, unknown>;
}

export interface EventInput {
  type: EventType;
  tenant: string;
  service?: string;
  actor?: string;
  data?: Record<string, unknown>;
}

export interface EventFilter {
  tenant?: string;
  service?: string;
  type?: EventType;
  /** Only events after this id. */
  after?: string;
  /** Only events before this id. */
  before?: string;
  limit?: number;
}

export function matches(e: SoloEvent, f: EventFilter): boolean {
  return (!f.tenant || e.tenant === f.tenant) && (!f.service || e.service === f.service) && (!f.type || e.type === f.type);
}
