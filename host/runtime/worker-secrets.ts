// The secret values a guest worker holds: per tenant, only names granted to a service installed
// here (the host sends no others), each with the vault's change number, so that an install's
// snapshot taken before a change never overwrites the change sent after it (a replaced worker
// gets both, in either order). Values are dropped once no service here is granted them.
import { fail, type WitResult } from "./guest-env.ts";
import type { SecretMessage, SecretSnapshot } from "./protocol.ts";

interface Held {
  seq: number;
  /** null: not stored (or removed); undefined with `unreadable`: does not decrypt on the host. */
  value: string | null;
  unreadable?: boolean;
}

export class WorkerSecrets {
  private readonly tenants = new Map<string, Map<string, Held>>();

  /** An install's snapshot: kept for each name unless something newer is already here. */
  install(tenant: string, s: SecretSnapshot): void {
    const unreadable = s.unreadable ? new Set(s.unreadable) : undefined;
    for (const [name, value] of s.values) this.put(tenant, name, { seq: s.seq, value, ...(unreadable?.has(name) ? { unreadable: true } : {}) });
  }

  /** A store or a removal sent after the fact. */
  update(m: SecretMessage): void {
    this.put(m.tenant, m.name, { seq: m.seq, value: m.value });
  }

  /** What secrets.get answers for a granted name. */
  get(tenant: string, name: string): WitResult<string> {
    const h = this.tenants.get(tenant)?.get(name);
    if (h?.unreadable) return fail("unavailable", `secret ${JSON.stringify(name)} cannot be read on this host (its stored record does not decrypt); an operator must store it again`);
    if (h === undefined || h.value === null) return fail("not-found", `secret ${JSON.stringify(name)} is not stored for tenant ${tenant}; store it (solo secret put ${tenant} ${name})`);
    return { ok: true, value: h.value };
  }

  /** Keeps only `granted` (the names the tenant's services here are still granted). */
  keepOnly(tenant: string, granted: ReadonlySet<string>): void {
    const held = this.tenants.get(tenant);
    if (!held) return;
    for (const name of held.keys()) if (!granted.has(name)) held.delete(name);
    if (held.size === 0) this.tenants.delete(tenant);
  }

  private put(tenant: string, name: string, h: Held): void {
    let held = this.tenants.get(tenant);
    if (!held) this.tenants.set(tenant, (held = new Map()));
    const old = held.get(name);
    if (!old || h.seq >= old.seq) held.set(name, h);
  }
}
