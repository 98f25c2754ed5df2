// The token authority: grants and revocations in RocksDB (each with its event, in one synced
// batch), all of them in memory for verify, which is synchronous.
import { timingSafeEqual } from "node:crypto";
import { SoloError } from "../errors.ts";
import { IdGenerator, type EventStore } from "../events/index.ts";
import { GRANTS, REVOCATIONS, grantKey, revocationKey, type Storage } from "../storage/index.ts";
import { isName, isPermission, PERMISSIONS, type Authority, type Permission } from "./permissions.ts";
import { loadRootKey } from "./root-key.ts";
import { chainSigs, derivedId, effective, firstSig, grantIdOf, isTokenId, MAX_TOKEN_CHARS, parseToken, PREFIX, tokenText } from "./token.ts";

/** The event tenant of admin grants (tenant "*"). Not a valid tenant name, so no tenant's own
 *  event view can show them; operators read them through the whole log (Host.eventStore). */
export const HOST_TENANT = "_host";
/** Longest grant: ten years. */
export const MAX_TTL_MS = 10 * 365 * 24 * 3600 * 1000;
const MAX_SERVICES = 64;
const MAX_NOTE = 256;
/** MAC-checked tokens kept so a hot call path does not re-HMAC; cleared when full (~1 KB each). */
const CACHE_SIZE = 10_000;
/** A parent chain deeper than this is treated as revoked (it cannot be made by grant(): each
 *  level needs a live parent, but a damaged store could loop). */
const MAX_DEPTH = 256;

export interface GrantRequest {
  tenant: string;
  permissions: Permission[];
  services?: string[];
  ttlMs: number;
  note?: string;
}

export interface Granted {
  token: string;
  id: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** A grant as host.grants() shows it: its record without `via`, and whether it is revoked. */
export type GrantInfo = Omit<GrantRecord, "via"> & {
  /** It, or a token it descends from, was revoked. */
  revoked: boolean;
};

/** What is stored under g:<id> (JSON) and kept in memory: ~0.5 KB of heap per grant. */
interface GrantRecord {
  id: string;
  tenant: string;
  permissions: Permission[];
  services?: string[];
  expiresAt: number;
  /** The id of the token that granted it; undefined when the operator did. */
  parent?: string;
  /** The ids of the offline derivations between the parent's grant and the parent token: revoking
   *  any of them revokes this grant too. */
  via?: string[];
  note?: string;
  createdAt: number;
}

interface RevokeTarget {
  id: string;
  grant: GrantRecord;
  /** Given the token's text: its ids, grant id first, down to its own. */
  ids?: string[];
}

interface Verified {
  grant: GrantRecord;
  /** The ids of the token and of every token it was narrowed from, grant id first. */
  ids: string[];
  authority: Authority;
}

export class Capabilities {
  private readonly cache = new Map<string, Verified>();
  /** Authorities verify handed out, so grant(…, by) knows by's derivation chain. */
  private readonly issued = new WeakMap<Authority, Verified>();
  private readonly pending = new Map<string, Promise<{ id: string; revoked: number }>>();

  private constructor(
    private readonly key: Buffer,
    private readonly events: EventStore,
    private readonly grants: Map<string, GrantRecord>,
    private readonly revoked: Set<string>,
    private readonly ids: IdGenerator,
    private readonly now: () => number,
  ) {}

  /** Reads (or creates) the key file and loads every grant and revocation. */
  static async open(o: { storage: Storage; events: EventStore; keyFile: string; now?: () => number }): Promise<Capabilities> {
    const key = loadRootKey(o.keyFile);
    const grants = new Map<string, GrantRecord>();
    let last: string | null = null;
    for (const [k, v] of await o.storage.recordsWithPrefix(GRANTS)) {
      // A record that does not parse is left out: its tokens stop verifying (fail closed).
      const g = parseRecord(k.slice(GRANTS.length), v);
      if (!g) continue;
      grants.set(g.id, g);
      if (last === null || g.id > last) last = g.id;
    }
    // The key alone says what is revoked; the value is only for people.
    const revoked = new Set((await o.storage.recordsWithPrefix(REVOCATIONS)).map(([k]) => k.slice(REVOCATIONS.length)));
    return new Capabilities(key, o.events, grants, revoked, new IdGenerator(last), o.now ?? Date.now);
  }

  /**
   * Grants `req` and answers the token (shown once: it is not stored). `by` undefined is the
   * in-process operator. A non-admin `by` needs `grant` on the tenant and grants only within what
   * it holds; the new grant's parent is by's token, so revoking that revokes this too.
   */
  async grant(req: GrantRequest, by?: Authority): Promise<Granted> {
    const r = checkRequest(req);
    const now = this.now();
    const expiresAt = now + r.ttlMs;
    let via: string[] | undefined;
    if (by) {
      const v = this.stillLive(by);
      if (!by.admin) withinHolder(by, r, expiresAt);
      const chain = v?.ids.slice(1, -1);
      if (chain?.length) via = chain;
    }
    const id = this.ids.next();
    const rec: GrantRecord = { id, tenant: r.tenant, permissions: r.permissions, services: r.services, expiresAt, parent: by?.tokenId, via, note: r.note, createdAt: now };
    await this.events.append(
      {
        type: "capability_granted",
        tenant: eventTenant(rec),
        actor: by?.tokenId ?? "local",
        data: { id, permissions: rec.permissions, services: rec.services, expiresAt, parent: rec.parent, note: rec.note },
      },
      { records: [[grantKey(id), JSON.stringify(rec)]] },
    );
    this.grants.set(id, rec);
    return { token: tokenText(id, rec.tenant === "*", [], firstSig(this.key, id)), id, expiresAt };
  }

  /**
   * The authority of a live token of this host; UNAUTHENTICATED otherwise. Synchronous. A token
   * seen before costs a map lookup plus the expiry and revocation checks, which run every call;
   * a new one costs 2 + (caveats) HMACs and one hash per caveat.
   */
  verify(token: string): Authority {
    if (typeof token === "string" && token.length <= MAX_TOKEN_CHARS) {
      const hit = this.cache.get(token);
      if (hit) return this.live(hit);
    }
    const v = this.check(token);
    if (this.cache.size >= CACHE_SIZE) this.cache.clear();
    this.cache.set(token, v);
    return this.live(v);
  }

  /**
   * Revokes a token (its text or its id) and everything granted from it or narrowed from it.
   * A non-admin `by` needs `grant` on the target's tenant and revokes only its own token and what
   * descends from it (granted by it or below it, or narrowed from it); it names a narrowed token
   * by its text, since an id alone cannot show where it came from. NOT_FOUND for a token or id this
   * host did not grant; revoking again answers revoked: 0 and writes nothing.
   */
  revoke(tokenOrId: string, by?: Authority): Promise<{ id: string; revoked: number }> {
    let id: string;
    let grant: GrantRecord | undefined;
    try {
      const t = this.target(tokenOrId, by !== undefined && !by.admin);
      ({ id, grant } = t);
      if (by) {
        this.stillLive(by);
        if (!by.admin) this.mayRevoke(by, t);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.revoked.has(id)) return Promise.resolve({ id, revoked: 0 });
    const running = this.pending.get(id);
    if (running) return running.then((r) => ({ id: r.id, revoked: 0 }));
    const p = this.writeRevocation(id, grant, by).finally(() => this.pending.delete(id));
    this.pending.set(id, p);
    return p;
  }

  /** Grants (of one tenant, or all; "*" = admin grants), oldest first: metadata, never tokens. */
  list(tenant?: string): GrantInfo[] {
    if (tenant !== undefined && tenant !== "*" && !isName(tenant)) {
      throw new SoloError("INVALID_ARGUMENT", `tenant name ${JSON.stringify(tenant)} is invalid: use 1-63 characters of a-z, 0-9, _ and -, or "*" for admin grants`, { field: "tenant" });
    }
    const out: GrantInfo[] = [];
    for (const g of this.grants.values()) {
      if (tenant !== undefined && g.tenant !== tenant) continue;
      const info: GrantInfo = { id: g.id, tenant: g.tenant, permissions: [...g.permissions], expiresAt: g.expiresAt, createdAt: g.createdAt, revoked: this.deadBecause(g) !== undefined };
      if (g.services) info.services = [...g.services];
      if (g.parent !== undefined) info.parent = g.parent;
      if (g.note !== undefined) info.note = g.note;
      out.push(info);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Parses and MAC-checks; does not look at expiry or revocation. */
  private check(token: string): Verified {
    const p = parseToken(token);
    const grant = this.grants.get(p.grantId);
    const notOurs = () => new SoloError("UNAUTHENTICATED", "the token was not granted by this host, or was modified; use a token this host granted, unmodified");
    // Unknown grant: refused before any HMAC.
    if (!grant) throw notOurs();
    // The admin mark is on an admin grant's tokens and no other's: one spelling per token.
    const admin = grant.tenant === "*";
    if (p.admin !== admin) throw notOurs();
    const sig0 = firstSig(this.key, p.grantId);
    const sigs = chainSigs(sig0, p.raw);
    const expected = sigs.length ? sigs[sigs.length - 1]! : sig0;
    if (!timingSafeEqual(expected, p.sig)) throw notOurs();
    // attenuate() refuses to add these to an admin token, so one was added by hand.
    if (admin && p.caveats.some((c) => c.kind !== "e")) {
      throw new SoloError("UNAUTHENTICATED", "an admin token can be narrowed only in expiry, and this one carries a permission or services caveat added by hand; use the admin token as granted (or with an earlier expiry), or a tenant token granted for the narrower purpose");
    }
    const ids = [p.grantId, ...sigs.map((s) => derivedId(p.grantId, s))];
    const authority = authorityOf(grant, ids[ids.length - 1]!, effective(p.caveats));
    const v = { grant, ids, authority };
    this.issued.set(authority, v);
    return v;
  }

  private live(v: Verified): Authority {
    const a = v.authority;
    const now = this.now();
    if (now >= a.expiresAt) throw new SoloError("UNAUTHENTICATED", `token ${a.tokenId} expired at ${new Date(a.expiresAt).toISOString()}; ask for a new token`, { tokenId: a.tokenId });
    for (let i = v.ids.length - 1; i >= 0; i--) {
      const id = v.ids[i]!;
      if (this.revoked.has(id)) throw revokedError(a.tokenId, id);
    }
    const cause = this.deadBecause(v.grant);
    if (cause !== undefined) throw revokedError(a.tokenId, cause);
    return a;
  }

  /** by must still be live: verified earlier, it may have expired or been revoked since. */
  private stillLive(by: Authority): Verified | undefined {
    const v = this.issued.get(by);
    if (v) {
      this.live(v);
      return v;
    }
    // An Authority this instance did not hand out (made in-process): check what it names.
    const g = this.grants.get(by.grantId);
    if (!g || this.now() >= by.expiresAt || this.revoked.has(by.tokenId) || this.deadBecause(g) !== undefined) {
      throw new SoloError("UNAUTHENTICATED", `token ${by.tokenId} is not live on this host (unknown, expired or revoked); use a live token`, { tokenId: by.tokenId });
    }
    return undefined;
  }

  /** The first revoked id on g's line (itself, its parent token, their derivations, up to the
   *  operator's grant), or undefined. One set lookup per level. */
  private deadBecause(g: GrantRecord): string | undefined {
    let cur: GrantRecord | undefined = g;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      if (this.revoked.has(cur.id)) return cur.id;
      const parent: string | undefined = cur.parent;
      if (parent === undefined) return undefined;
      if (this.revoked.has(parent)) return parent;
      if (cur.via) for (const id of cur.via) if (this.revoked.has(id)) return id;
      cur = this.grants.get(grantIdOf(parent));
      if (!cur) return parent; // its parent's grant is gone: fail closed
    }
    return g.id;
  }

  /** True when revoking `id` kills g: id is on g's line. */
  private descendsFrom(g: GrantRecord, id: string): boolean {
    let cur: GrantRecord | undefined = g;
    for (let depth = 0; depth < MAX_DEPTH && cur; depth++) {
      if (cur.parent === undefined) return false;
      if (cur.parent === id || cur.via?.includes(id)) return true;
      cur = this.grants.get(grantIdOf(cur.parent));
      if (cur?.id === id) return true;
    }
    return false;
  }

  /** What a revoke names: the id, its grant and, given the text, every id it was narrowed through. */
  private target(tokenOrId: string, textForNarrowed: boolean): RevokeTarget {
    if (typeof tokenOrId !== "string") throw new SoloError("INVALID_ARGUMENT", "give the token to revoke, or its id", { field: "token" });
    if (tokenOrId.startsWith(PREFIX)) {
      let v: Verified;
      try {
        v = this.check(tokenOrId);
      } catch {
        throw new SoloError("NOT_FOUND", "no token of this host matches the text given; give a token this host granted, or its id (printed when it was granted, and in its capability_granted event)");
      }
      return { id: v.authority.tokenId, grant: v.grant, ids: v.ids };
    }
    if (!isTokenId(tokenOrId)) throw new SoloError("INVALID_ARGUMENT", `${JSON.stringify(tokenOrId.slice(0, 80))} is neither a token nor a token id; ids look like 01J…(26 characters)[.xxxxxxxxxxxxxxxx]`, { field: "token" });
    // A narrowed token's id cannot be checked without its text: any 16 characters look like one,
    // and each revoke writes a synced record and an event. Token holders give the text; the
    // operator and admin tokens may still name any id.
    if (textForNarrowed && tokenOrId.length !== 26) {
      throw new SoloError("INVALID_ARGUMENT", `${tokenOrId} is the id of a narrowed token, which cannot be checked without the token: give the token's text to revoke it (an id alone is accepted only for a grant id, or from an admin token)`, { field: "token" });
    }
    const grant = this.grants.get(grantIdOf(tokenOrId));
    if (!grant) throw new SoloError("NOT_FOUND", `no grant ${grantIdOf(tokenOrId)} on this host; the ids of its grants are in their capability_granted events`, { id: tokenOrId });
    return { id: tokenOrId, grant };
  }

  /**
   * A non-admin may revoke its own token and what descends from it: tokens narrowed from it (the
   * target's derivation chain holds by's id) and grants made by it or below it (by's id is on the
   * grant's parent line). Anything else, a stronger sibling or its own parent included, is refused.
   */
  private mayRevoke(by: Authority, t: RevokeTarget): void {
    const { grant: target, id } = t;
    if (target.tenant === "*") throw denied(by, "permission", "admin", `only the operator or an admin token can revoke ${id}`);
    if (by.tenant !== "*" && by.tenant !== target.tenant) throw denied(by, "tenant", target.tenant, `token ${by.tokenId} acts for tenant "${by.tenant}" and cannot revoke ${id} of tenant "${target.tenant}"`);
    if (!by.permissions.has("grant")) throw denied(by, "permission", "grant", `token ${by.tokenId} lacks the "grant" permission needed to revoke; ask for a token that includes it`);
    const own = id === by.tokenId || (t.ids ?? [target.id]).includes(by.tokenId) || this.descendsFrom(target, by.tokenId);
    if (!own) {
      throw denied(by, "lineage", id, `token ${by.tokenId} may revoke only itself and the tokens it granted or narrowed (and theirs); ${id} does not descend from it, so ask whoever granted ${id}, or an admin, to revoke it`);
    }
  }

  private async writeRevocation(id: string, grant: GrantRecord, by: Authority | undefined): Promise<{ id: string; revoked: number }> {
    // Grants that this revocation kills and that were live: O(grants × depth), revocations are rare.
    let cascade = 0;
    for (const g of this.grants.values()) if (g !== grant && this.descendsFrom(g, id) && this.deadBecause(g) === undefined) cascade++;
    const actor = by?.tokenId ?? "local";
    await this.events.append(
      { type: "capability_revoked", tenant: eventTenant(grant), actor, data: cascade ? { id, cascade } : { id } },
      { records: [[revocationKey(id), JSON.stringify({ at: this.now(), by: actor })]] },
    );
    this.revoked.add(id);
    return { id, revoked: 1 + cascade };
  }
}

function revokedError(tokenId: string, cause: string): SoloError {
  const what = cause === tokenId ? "was revoked" : `descends from ${cause}, which was revoked`;
  return new SoloError("UNAUTHENTICATED", `token ${tokenId} ${what}; ask for a new token`, { tokenId });
}

const eventTenant = (g: GrantRecord): string => (g.tenant === "*" ? HOST_TENANT : g.tenant);

function authorityOf(g: GrantRecord, tokenId: string, c: ReturnType<typeof effective>): Authority {
  const adminGrant = g.permissions.includes("admin");
  let permissions = new Set<Permission>(adminGrant ? PERMISSIONS : g.permissions);
  if (c.permissions) permissions = new Set([...permissions].filter((p) => c.permissions!.has(p)));
  let services = g.services ? new Set(g.services) : undefined;
  if (c.services) services = services ? new Set([...services].filter((s) => c.services!.has(s))) : new Set(c.services);
  // `admin` means everything: a token limited to some services cannot keep it.
  if (services) permissions.delete("admin");
  const expiresAt = c.expiresAt === undefined ? g.expiresAt : Math.min(g.expiresAt, c.expiresAt);
  return Object.freeze({ tokenId, grantId: g.id, tenant: g.tenant, admin: permissions.has("admin"), permissions, services, expiresAt });
}

function denied(by: Authority, missing: string, need: string, message: string): SoloError {
  return new SoloError("PERMISSION_DENIED", message, { missing, need, tokenId: by.tokenId });
}

/** A non-admin holder may grant only what it holds. */
function withinHolder(by: Authority, r: Checked, expiresAt: number): void {
  if (r.tenant === "*") throw denied(by, "permission", "admin", `token ${by.tokenId} cannot grant admin; only the operator or an admin token can`);
  if (by.tenant !== "*" && by.tenant !== r.tenant) throw denied(by, "tenant", r.tenant, `token ${by.tokenId} acts for tenant "${by.tenant}" and cannot grant for "${r.tenant}"`);
  if (!by.permissions.has("grant")) throw denied(by, "permission", "grant", `token ${by.tokenId} lacks the "grant" permission; ask for a token that includes it`);
  const extra = r.permissions.filter((p) => !by.permissions.has(p));
  if (extra.length) throw denied(by, "permission", extra[0]!, `token ${by.tokenId} cannot grant ${extra.join(", ")}: it does not hold ${extra.length > 1 ? "them" : "it"}; grant a subset of ${[...by.permissions].join(", ")}`);
  if (by.services) {
    if (!r.services) throw denied(by, "service", "*", `token ${by.tokenId} is limited to services ${[...by.services].join(", ")}; name some of them in services`);
    const extraS = r.services.filter((s) => !by.services!.has(s));
    if (extraS.length) throw denied(by, "service", extraS[0]!, `token ${by.tokenId} cannot grant services ${extraS.join(", ")}: it is limited to ${[...by.services].join(", ")}`);
  }
  if (expiresAt > by.expiresAt) throw denied(by, "expiry", String(expiresAt), `token ${by.tokenId} expires at ${new Date(by.expiresAt).toISOString()}; a grant it makes must expire no later (lower ttlMs)`);
}

interface Checked {
  tenant: string;
  permissions: Permission[];
  services?: string[];
  ttlMs: number;
  note?: string;
}

function checkRequest(req: GrantRequest): Checked {
  const bad = (field: string, message: string) => new SoloError("INVALID_ARGUMENT", message, { field });
  if (typeof req !== "object" || req === null) throw bad("request", "give { tenant, permissions, services?, ttlMs, note? }");
  const { tenant, permissions, services, ttlMs, note } = req;
  if (!Array.isArray(permissions) || permissions.length === 0 || !permissions.every(isPermission)) {
    throw bad("permissions", `permissions must be a non-empty list of ${PERMISSIONS.join(", ")}`);
  }
  const admin = permissions.includes("admin");
  if (admin ? tenant !== "*" : !isName(tenant)) {
    throw bad("tenant", admin ? `an admin grant covers every tenant: give tenant "*"` : `tenant name ${JSON.stringify(tenant)} is invalid: use 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit ("*" only with admin)`);
  }
  if (services !== undefined) {
    if (admin) throw bad("services", "an admin grant covers every service; leave services out");
    if (!Array.isArray(services) || services.length === 0 || services.length > MAX_SERVICES || !services.every(isName)) {
      throw bad("services", `services must be 1-${MAX_SERVICES} service names (a-z, 0-9, _ and -), or left out for every service of the tenant`);
    }
  }
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) throw bad("ttlMs", `ttlMs must be a whole number of milliseconds from 1 to ${MAX_TTL_MS} (ten years)`);
  if (note !== undefined && (typeof note !== "string" || note.length > MAX_NOTE || /[\u0000-\u001f\u007f]/.test(note))) {
    throw bad("note", `note must be text of at most ${MAX_NOTE} characters, without control characters`);
  }
  const ordered = admin ? (["admin"] as Permission[]) : PERMISSIONS.filter((p) => permissions.includes(p));
  return { tenant, permissions: ordered, services: services && [...new Set(services)].sort(), ttlMs, note };
}

function parseRecord(id: string, text: string): GrantRecord | undefined {
  try {
    const g = JSON.parse(text) as GrantRecord;
    const ok = g && g.id === id && typeof g.tenant === "string" && Array.isArray(g.permissions) && g.permissions.every(isPermission)
      && Number.isSafeInteger(g.expiresAt) && (g.services === undefined || (Array.isArray(g.services) && g.services.every(isName)))
      && (g.parent === undefined || (typeof g.parent === "string" && isTokenId(g.parent)))
      && (g.via === undefined || (Array.isArray(g.via) && g.via.every((x) => typeof x === "string")));
    return ok ? g : undefined;
  } catch {
    return undefined;
  }
}

