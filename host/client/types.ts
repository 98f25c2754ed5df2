// What every Solo client offers, whatever it speaks (gRPC or WebSocket): the API's methods with
// the same arguments and answers as a Host session, and failures as SoloErrors rebuilt from the
// wire (same code, message and details as the server threw).
import type { CallReply, DeployResult, ServiceInfo, ServiceStatus, SoloEvent, SwapResult, ValidationReport, VersionInfo } from "../index.ts";
import type { Granted, Permission } from "../capability/index.ts";
import type { TenantQuotas, TenantUsage } from "../governance/index.ts";
import type { RotationReport, SecretInfo } from "../vault/index.ts";
import type { AuditReport } from "../audit/index.ts";
import type { LogLine } from "../logs/index.ts";

export interface DeployParams {
  tenant: string;
  service: string;
  /** Source text, or a component's / javy module's bytes. */
  source: string | Uint8Array;
  language?: string;
  file?: string;
  limits?: Record<string, number>;
  compiler?: "quickjs" | "javy";
  capabilities?: string[];
  description?: string;
  tags?: string[];
}

/** A hot swap: the new version's source; what it leaves out (language, limits, capabilities) stays as it runs. */
export interface SwapParams extends DeployParams {
  /** How long after the switch Solo watches the new version (ms; default 30000; 0: no window). */
  rollbackWindowMs?: number;
  /** Share of calls in the window that may fail before Solo rolls back (default 0.1). */
  maxFailureRate?: number;
  /** A request the new version must answer with `expect` before it is switched to. */
  health?: { request: string; expect: string };
}

export interface EventsParams {
  tenant?: string;
  service?: string;
  type?: string;
  /** Only events after this id (resume from the last one seen). */
  after?: string;
  /** Keep the stream open for live events. */
  follow?: boolean;
  limit?: number;
}

export interface LogsParams {
  tenant: string;
  /** One service; omitted: every service of the tenant the token covers. */
  service?: string;
  /** Keep the stream open for lines logged later. */
  follow?: boolean;
  /** How many kept lines first (default: all kept, at most 200 a service); 0: none. */
  tail?: number;
}

/** A stream of guest log lines: iterate it; close() ends it. */
export interface LogStream extends AsyncIterable<LogLine> {
  close(): void;
}

/** A stream of events: iterate it; close() ends it (the server stops sending). */
export interface EventStream extends AsyncIterable<SoloEvent> {
  close(): void;
}

export interface SoloClient {
  deploy(p: DeployParams): Promise<DeployResult>;
  validate(p: { source: string | Uint8Array; language?: string; file?: string }): Promise<ValidationReport>;
  call(tenant: string, service: string, request: string): Promise<CallReply>;
  status(tenant: string, service: string): Promise<ServiceStatus>;
  list(tenant: string): Promise<ServiceStatus[]>;
  kill(tenant: string, service: string): Promise<void>;
  /** The tenant's services this token may call, with their metadata; only `name`, only those tagged `tag`. */
  discover(p: { tenant: string; name?: string; tag?: string }): Promise<ServiceInfo[]>;
  usage(tenant: string): Promise<TenantUsage>;
  setQuotas(tenant: string, quotas: Partial<TenantQuotas>): Promise<TenantQuotas>;
  grant(p: { tenant: string; permissions: Permission[]; services?: string[]; ttlMs: number; note?: string }): Promise<Granted>;
  revoke(tokenOrId: string): Promise<{ id: string; revoked: number }>;
  attenuate(p: { token: string; permissions?: Permission[]; services?: string[]; expiresAt?: number }): Promise<{ token: string; id: string }>;
  /** Stores (or replaces) a secret (`secrets`); answers its metadata, never the value. */
  putSecret(tenant: string, name: string, value: string): Promise<SecretInfo>;
  /** The tenant's secrets: names, versions, times (`secrets`). */
  secrets(tenant: string): Promise<SecretInfo[]>;
  removeSecret(tenant: string, name: string): Promise<SecretInfo>;
  /** A secret's value: an admin token only. */
  secret(tenant: string, name: string): Promise<string>;
  /** Re-seals every secret under a new master key (admin). */
  rotateSecrets(newKey?: string): Promise<RotationReport>;
  /** The host's health (admin); `full` verifies the whole event chain. */
  audit(p?: { full?: boolean }): Promise<AuditReport>;
  /** Events of a tenant (admin: every tenant when tenant is omitted), then live ones if follow. */
  events(p: EventsParams): EventStream;
  /** A service's guest log lines kept by the server (`tail`), then live ones if follow (needs `read`). */
  logs(p: LogsParams): LogStream;
  close(): Promise<void>;
  // Hot swap (issue 11)
  swap(p: SwapParams): Promise<SwapResult>;
  /** Back to `version` (default: the previous one). */
  rollback(tenant: string, service: string, version?: number): Promise<SwapResult>;
  /** Oldest first. */
  versions(tenant: string, service: string): Promise<VersionInfo[]>;
  /** Kill, then deploy: the kv starts empty. */
  replace(p: DeployParams): Promise<DeployResult>;
}
