// A session is one caller holding one token. Every operation checks the token first (verify:
// a live token of this host, checked again on every use so expiry and revocation take effect at
// once), then what it covers (authorize: tenant, permission, service). A refused request does
// nothing but record capability_denied; the caller gets UNAUTHENTICATED or PERMISSION_DENIED.
// The API server makes one session per request's token; in-process code may keep one.
//
// Cost on the call path: one Map lookup of the already checked token, an expiry compare, a walk of
// its (short) revocation chain and two Set lookups; no hashing once the token is cached.
import { SoloError } from "../errors.ts";
import { authorize, tokenId, type Authority, type Capabilities, type Granted, type GrantRequest, type Permission } from "../capability/index.ts";
import { resolveGuestCapabilities } from "../capability/guest.ts";
import type { CallReply, DeployResult, ServiceInfo, ServiceStatus, SwapResult, VersionInfo } from "../services/index.ts";
import type { EventFilter, SoloEvent, SubscribeOptions, Subscription, EventLogView } from "../events/index.ts";
import type { ValidationReport } from "../validate/index.ts";
import type { TenantQuotas, TenantUsage } from "../governance/index.ts";
import type { DenialLog } from "./denials.ts";
import type { DeployOptions, DiscoverOptions, Host, SwapOptions } from "../host.ts";
import type { RotationReport, SecretInfo } from "../vault/index.ts";
import type { AuditOptions, AuditReport } from "../audit/index.ts";
import type { LogFeed, LogsOptions } from "../logs/index.ts";

export class Session {
  /** The token's id. */
  readonly id: string;
  /** What events record as the actor: the token's id, after the client certificate's subject if any. */
  readonly actor: string;

  constructor(
    private readonly host: Host,
    private readonly capabilities: Capabilities,
    private readonly denials: DenialLog,
    private readonly token: string,
    peer?: string,
  ) {
    let id = "unknown";
    try {
      id = tokenId(token);
    } catch {
      // A malformed token gets its UNAUTHENTICATED at its first use, recorded like any other.
    }
    this.id = id;
    this.actor = peer ? `${peer}:${id}` : id;
  }

  /** What the token allows now; UNAUTHENTICATED if it is not (or no longer) a live token. */
  whoami(): Authority {
    return this.capabilities.verify(this.token);
  }

  /**
   * Verifies the token as an operation of its own (a connection's Authenticate, a request's
   * token checked before its body is read): a refusal is recorded like any other.
   */
  authenticate(): Promise<Authority> {
    return this.live("", "authenticate");
  }

  async deploy(options: DeployOptions): Promise<DeployResult> {
    await this.check(options?.tenant, "deploy", options?.service);
    await this.checkGuestCapabilities(options?.tenant, options?.service, options?.capabilities);
    return this.host.deploy({ ...options, actor: this.actor });
  }

  /**
   * Guest capabilities beyond the default need a token that covers them: a secret needs
   * `secrets`, calling another service needs `call` on it.
   */
  private async checkGuestCapabilities(tenant: string, service: string, capabilities: string[] | undefined): Promise<void> {
    for (const cap of resolveGuestCapabilities(capabilities)) {
      if (cap.startsWith("secret:")) await this.check(tenant, "secrets", service, cap);
      else if (cap.startsWith("call:")) await this.check(tenant, "call", cap.slice(5), cap);
    }
  }

  /** Checks source without deploying: any live token may. */
  async validate(options: { source: string | Uint8Array; language?: DeployOptions["language"]; file?: string; typeCheck?: DeployOptions["typeCheck"] }): Promise<ValidationReport> {
    await this.live("", "validate");
    return this.host.validate(options);
  }

  call(tenant: string, service: string, request: string): Promise<CallReply> {
    // The hot path: no await when the token covers the call.
    let a: Authority | undefined;
    try {
      a = this.capabilities.verify(this.token);
      authorize(a, { tenant, permission: "call", service });
    } catch (err) {
      return this.refuse(tenant, service, "call", err, a);
    }
    return this.host.call(tenant, service, request, this.actor);
  }

  async status(tenant: string, service: string): Promise<ServiceStatus> {
    await this.check(tenant, "read", service);
    return this.host.status(tenant, service);
  }

  /** The tenant's services this token may see (a token narrowed to services sees only those). */
  async list(tenant: string): Promise<ServiceStatus[]> {
    const a = await this.checkTenant(tenant, "read");
    const all = this.host.list(tenant);
    return a.services ? all.filter((s) => a.services!.has(s.service)) : all;
  }

  /** Needs `swap` on the service; capabilities beyond the default as for a deploy. */
  async swap(options: SwapOptions): Promise<SwapResult> {
    const tenant = options?.tenant;
    const service = options?.service;
    await this.check(tenant, "swap", service);
    if (options?.capabilities !== undefined) await this.checkGuestCapabilities(tenant, service, options.capabilities);
    return this.host.swap({ ...options, actor: this.actor });
  }

  async rollback(tenant: string, service: string, version?: number): Promise<SwapResult> {
    await this.check(tenant, "swap", service);
    return this.host.rollback(tenant, service, version, this.actor);
  }

  async versions(tenant: string, service: string): Promise<VersionInfo[]> {
    await this.check(tenant, "read", service);
    return this.host.versions(tenant, service);
  }

  /** Kill, then deploy: needs both `kill` and `deploy` on the service. */
  async replace(options: DeployOptions): Promise<DeployResult> {
    await this.check(options?.tenant, "kill", options?.service);
    await this.check(options?.tenant, "deploy", options?.service);
    await this.checkGuestCapabilities(options?.tenant, options?.service, options?.capabilities);
    return this.host.replace({ ...options, actor: this.actor });
  }

  /**
   * The services of the tenant this token may call (`call` permission; a token narrowed to
   * services finds only those), with their metadata. Every other service, and every other
   * tenant's, is left out as if it did not exist.
   */
  async discover(options: DiscoverOptions): Promise<ServiceInfo[]> {
    const a = await this.checkTenant(options?.tenant, "call");
    const narrowed = a.services && !a.admin ? a.services : undefined;
    return this.host.discover(options, narrowed ? (service) => narrowed.has(service) : undefined);
  }

  async kill(tenant: string, service: string): Promise<void> {
    await this.check(tenant, "kill", service);
    return this.host.kill(tenant, service, this.actor);
  }

  /** The tenant's events; a token narrowed to services must name one of them in filter.service. */
  async events(tenant: string, filter: Omit<EventFilter, "tenant"> = {}): Promise<AsyncGenerator<SoloEvent>> {
    await this.checkEvents(tenant, filter);
    return this.host.events(tenant, filter);
  }

  async subscribe(tenant: string, filter: Omit<EventFilter, "tenant"> = {}, options: SubscribeOptions = {}): Promise<Subscription> {
    await this.checkEvents(tenant, filter);
    return this.host.subscribe(tenant, filter, options);
  }

  /**
   * The guest log lines of the tenant's service (needs `read` on it); without a service, every
   * service the token covers (a token narrowed to services sees only theirs).
   */
  async logs(tenant: string, service?: string, options: Omit<LogsOptions, "services"> = {}): Promise<LogFeed> {
    const a = service === undefined ? await this.checkTenant(tenant, "read") : await this.check(tenant, "read", service);
    const services = service === undefined && a.services && !a.admin ? a.services : undefined;
    return this.host.logs(tenant, service, { follow: options?.follow, tail: options?.tail, ...(services && { services }) });
  }

  async event(tenant: string, id: string): Promise<SoloEvent> {
    const a = await this.checkTenant(tenant, "read");
    const e = await this.host.event(tenant, id);
    // Outside the token's services: the same answer as a missing event.
    if (a.services && (!e.service || !a.services.has(e.service))) throw new SoloError("NOT_FOUND", `event ${id} not found in tenant ${tenant}`);
    return e;
  }

  /** A new token within what this one holds (needs `grant`, or admin). */
  async grant(request: GrantRequest): Promise<Granted> {
    const a = await this.live(request?.tenant, "grant");
    try {
      return await this.capabilities.grant(request, a);
    } catch (err) {
      if (err instanceof SoloError && err.code === "PERMISSION_DENIED") await this.denials.record({ tenant: request?.tenant, authority: a, tokenId: this.id, permission: "grant", error: err });
      throw err;
    }
  }

  /** Revokes a token (text or id) and everything derived from it. */
  async revoke(tokenOrId: string): Promise<{ id: string; revoked: number }> {
    const a = await this.live("", "grant");
    try {
      return await this.capabilities.revoke(tokenOrId, a);
    } catch (err) {
      if (err instanceof SoloError && err.code === "PERMISSION_DENIED") await this.denials.record({ tenant: "", authority: a, tokenId: this.id, permission: "grant", error: err });
      throw err;
    }
  }

  /** The tenant's use against each of its quotas. */
  async usage(tenant: string): Promise<TenantUsage> {
    await this.check(tenant, "read");
    return this.host.usage(tenant);
  }

  // ---- secrets: `secrets` to store, list and remove; a value only for an admin token ----

  /** Stores (or replaces) a secret of the tenant (needs `secrets`). */
  async putSecret(tenant: string, name: string, value: string): Promise<SecretInfo> {
    await this.check(tenant, "secrets");
    return this.host.putSecret(tenant, name, value, this.actor);
  }

  /** The tenant's secrets, never their values (needs `secrets`). */
  async secrets(tenant: string): Promise<SecretInfo[]> {
    await this.check(tenant, "secrets");
    return this.host.secrets(tenant);
  }

  /** Removes a secret of the tenant (needs `secrets`). */
  async removeSecret(tenant: string, name: string): Promise<SecretInfo> {
    await this.check(tenant, "secrets");
    return this.host.removeSecret(tenant, name, this.actor);
  }

  // ---- operator operations: an admin token only ----

  /** A secret's value (admin): services read theirs through the secrets import. */
  async secret(tenant: string, name: string): Promise<string> {
    await this.check(tenant, "admin");
    return this.host.secret(tenant, name);
  }

  /** Re-seals every secret under a new master key (admin). */
  async rotateSecrets(newKey?: string): Promise<RotationReport> {
    await this.check("", "admin");
    return this.host.rotateSecrets(newKey);
  }

  /** Sets a tenant's quotas (admin). */
  async setQuotas(tenant: string, quotas: Partial<TenantQuotas>): Promise<TenantQuotas> {
    await this.check(tenant, "admin");
    return this.host.setQuotas(tenant, quotas);
  }

  /**
   * The Prometheus text of the host's metrics: an admin token sees every series; a token with
   * `read` sees the host-wide series and its own tenant's (never another tenant's, nor "_other").
   */
  async metrics(): Promise<string> {
    const a = await this.live("", "read");
    if (a.admin) return this.host.metrics();
    await this.checkTenant(a.tenant, "read");
    return this.host.metrics(a.tenant);
  }

  /**
   * The host's health (admin): it names every tenant near a quota, every token about to expire
   * and the data directory's certificates, so no tenant's token may read it.
   */
  async audit(options: AuditOptions = {}): Promise<AuditReport> {
    await this.check("", "admin");
    return this.host.audit(options);
  }

  /** The whole event log, every tenant, read-only. */
  async eventLog(): Promise<EventLogView> {
    await this.check("", "admin");
    return this.host.eventStore;
  }

  // ---- checks ----

  /** Verifies the token and that it covers (tenant, permission, service); records a refusal. */
  private async check(tenant: string, permission: Permission, service?: string, guestCapability?: string): Promise<Authority> {
    let a: Authority | undefined;
    try {
      a = this.capabilities.verify(this.token);
      if (permission === "admin") {
        if (!a.admin) throw new SoloError("PERMISSION_DENIED", `this needs an admin token; token ${a.tokenId} is for tenant ${a.tenant}`, { missing: "permission", need: "admin", tokenId: a.tokenId });
      } else authorize(a, { tenant, permission, service });
    } catch (err) {
      return this.refuse(tenant, service, guestCapability ?? permission, err, a);
    }
    return a;
  }

  /**
   * A tenant-wide read that a token narrowed to services may make too (it then sees only its
   * services): tenant and permission are checked, not services.
   */
  private async checkTenant(tenant: string, permission: Permission): Promise<Authority> {
    let a: Authority | undefined;
    try {
      a = this.capabilities.verify(this.token);
      if (a.services && !a.admin) {
        // Checked as if asking for one of its own services: same tenant and permission rules.
        authorize(a, { tenant, permission, service: a.services.values().next().value as string });
      } else authorize(a, { tenant, permission });
    } catch (err) {
      return this.refuse(tenant, undefined, permission, err, a);
    }
    return a;
  }

  /** Only that the token is live (any tenant): for operations whose own checks follow. */
  private async live(tenant: string, permission: string): Promise<Authority> {
    try {
      return this.capabilities.verify(this.token);
    } catch (err) {
      return this.refuse(tenant, undefined, permission, err);
    }
  }

  /** Records the refusal (charged to the caller when its token is live: `a`) and throws it. */
  private async refuse(tenant: string, service: string | undefined, permission: string, err: unknown, a?: Authority): Promise<never> {
    const live = err instanceof SoloError && err.code === "PERMISSION_DENIED" ? a : undefined;
    await this.denials.record({ tenant, service, authority: live, tokenId: this.id === "unknown" ? undefined : this.id, permission, error: err });
    throw err;
  }

  /** Reading events: a token narrowed to services must ask for one of them (filter.service). */
  private async checkEvents(tenant: string, filter: Omit<EventFilter, "tenant">): Promise<void> {
    const a = await this.check(tenant, "read", filter?.service);
    if (a.services && !a.admin && filter?.service === undefined) {
      const err = new SoloError("PERMISSION_DENIED", `token ${a.tokenId} covers only services ${[...a.services].join(", ")} of tenant ${tenant}; ask for one of them with filter.service`, { missing: "service", need: "every service", tokenId: a.tokenId });
      await this.refuse(tenant, undefined, "read", err, a);
    }
  }
}
