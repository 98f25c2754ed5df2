// The API's methods once, whatever the transport: gRPC, REST and WebSocket JSON-RPC each decode
// their request into plain params, call the method with the caller's session, and encode what
// it answers (or the SoloError it throws). Params are checked here, so every transport refuses
// the same bad input with the same INVALID_ARGUMENT and `details.field`.
import { SoloError, toSoloError } from "../errors.ts";
import { attenuate, tokenId, type Permission } from "../capability/index.ts";
import type { Session } from "../session/index.ts";
import type { Language } from "../compile/index.ts";
import { EVENT_TYPES, type EventFilter, type EventType, type SoloEvent } from "../events/index.ts";
import type { LogFeed } from "../logs/index.ts";

export type Params = Record<string, unknown>;
export type Method = (session: Session, params: Params) => Promise<unknown>;

function str(p: Params, field: string): string {
  const v = p[field];
  if (typeof v !== "string") throw new SoloError("INVALID_ARGUMENT", `${field} must be a string`, { field });
  return v;
}

function optStr(p: Params, field: string): string | undefined {
  const v = p[field];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new SoloError("INVALID_ARGUMENT", `${field} must be a string`, { field });
  return v;
}

function optList(p: Params, field: string): string[] | undefined {
  const v = p[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new SoloError("INVALID_ARGUMENT", `${field} must be a list of strings`, { field });
  return v as string[];
}

/** A list that was given and is not empty (gRPC sends an unset repeated field as []). */
function someList(p: Params, field: string): string[] | undefined {
  const v = optList(p, field);
  return v?.length ? v : undefined;
}

function optNumber(p: Params, field: string): number | undefined {
  const v = p[field];
  if (v === undefined || v === null || v === "" || v === 0) return undefined;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new SoloError("INVALID_ARGUMENT", `${field} must be a whole number`, { field });
  return n;
}

/** Source as text (`source`/`text`) or bytes (`binary`: bytes over gRPC, base64 in JSON). */
function source(p: Params): string | Uint8Array {
  if (typeof p.source === "string") return p.source;
  if (typeof p.text === "string") return p.text;
  if (p.binary instanceof Uint8Array) return p.binary;
  if (typeof p.binary === "string") return new Uint8Array(Buffer.from(p.binary, "base64"));
  throw new SoloError("INVALID_ARGUMENT", "give the source as `source` (text) or `binary` (a component's bytes, base64 in JSON)", { field: "source" });
}

/** Limits with only the fields that were set (gRPC sends unset numbers as absent). */
function limits(p: Params): Record<string, number> | undefined {
  const v = p.limits;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw new SoloError("INVALID_ARGUMENT", "limits must be an object", { field: "limits" });
  return limitsLike(v as Params, "limits");
}

/** An object of numbers (numbers may come as decimal strings: gRPC's 64-bit fields). */
function limitsLike(v: Params, field: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, raw] of Object.entries(v as Record<string, unknown>)) {
    if (raw === undefined || raw === null) continue;
    const n = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== "number") throw new SoloError("INVALID_ARGUMENT", `${field}.${k} must be a number`, { field: `${field}.${k}` });
    out[k] = n;
  }
  return out;
}


/** A whole number that may be 0 (0 means something: no rollback window); absent when not given. */
function optCount(p: Params, field: string): number | undefined {
  const v = p[field];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new SoloError("INVALID_ARGUMENT", `${field} must be a whole number (0 allowed)`, { field });
  return n;
}

/** A fraction such as a failure rate; its range is the host's to check. */
function optFraction(p: Params, field: string): number | undefined {
  const v = p[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new SoloError("INVALID_ARGUMENT", `${field} must be a number from 0 to below 1`, { field });
  return v;
}

/** `{ request, expect }`, both strings; an empty message (gRPC's unset one) is none. */
function optHealth(p: Params): { request: string; expect: string } | undefined {
  const v = p.health;
  if (v === undefined || v === null) return undefined;
  const h = v as Params;
  if (typeof v !== "object" || Array.isArray(v) || typeof h.request !== "string" || typeof h.expect !== "string") {
    throw new SoloError("INVALID_ARGUMENT", "health must be { request: string, expect: string }: a request the new version must answer with expect before it is switched to", { field: "health" });
  }
  return { request: h.request, expect: h.expect };
}

/** Deploy's params (Replace takes the same). */
function deployOptions(p: Params) {
  return {
    tenant: str(p, "tenant"),
    service: str(p, "service"),
    source: source(p),
    language: optStr(p, "language") as Language | undefined,
    file: optStr(p, "file"),
    limits: limits(p),
    compiler: optStr(p, "compiler") as "quickjs" | "javy" | undefined,
    typeCheck: optStr(p, "typeCheck") as "warning" | "error" | undefined,
    capabilities: someList(p, "capabilities"),
    description: optStr(p, "description"),
    tags: someList(p, "tags"),
  };
}

const SWAP_METHODS: Record<string, Method> = {
  async Swap(s, p) {
    const rollbackWindowMs = optCount(p, "rollbackWindowMs");
    const maxFailureRate = optFraction(p, "maxFailureRate");
    const health = optHealth(p);
    // A swap keeps the description and tags the deploy gave.
    const { description: _d, tags: _t, ...options } = deployOptions(p);
    return s.swap({
      ...options,
      ...(rollbackWindowMs !== undefined ? { rollbackWindowMs } : {}),
      ...(maxFailureRate !== undefined ? { maxFailureRate } : {}),
      ...(health ? { health } : {}),
    });
  },
  async Rollback(s, p) {
    return s.rollback(str(p, "tenant"), str(p, "service"), optNumber(p, "version"));
  },
  async Versions(s, p) {
    return { versions: await s.versions(str(p, "tenant"), str(p, "service")) };
  },
  async Replace(s, p) {
    return s.replace(deployOptions(p));
  },
};

export const METHODS: Record<string, Method> = {
  async Deploy(s, p) {
    return s.deploy(deployOptions(p));
  },
  async Discover(s, p) {
    return { services: await s.discover({ tenant: str(p, "tenant"), name: optStr(p, "name"), tag: optStr(p, "tag") }) };
  },
  async Validate(s, p) {
    return s.validate({ source: source(p), language: optStr(p, "language") as Language | undefined, file: optStr(p, "file"), typeCheck: optStr(p, "typeCheck") as "warning" | "error" | undefined });
  },
  async Call(s, p) {
    return s.call(str(p, "tenant"), str(p, "service"), str(p, "request"));
  },
  async Status(s, p) {
    return s.status(str(p, "tenant"), str(p, "service"));
  },
  async List(s, p) {
    return { services: await s.list(str(p, "tenant")) };
  },
  async Kill(s, p) {
    await s.kill(str(p, "tenant"), str(p, "service"));
    return {};
  },
  async Usage(s, p) {
    return s.usage(str(p, "tenant"));
  },
  async SetQuotas(s, p) {
    const q = p.quotas;
    if (!q || typeof q !== "object" || Array.isArray(q)) throw new SoloError("INVALID_ARGUMENT", "quotas must be an object of quota name to number", { field: "quotas" });
    return { quotas: await s.setQuotas(str(p, "tenant"), limitsLike(q as Params, "quotas")) };
  },
  async Grant(s, p) {
    const ttlMs = optNumber(p, "ttlMs");
    if (ttlMs === undefined) throw new SoloError("INVALID_ARGUMENT", "ttlMs must be a positive whole number of milliseconds", { field: "ttlMs" });
    return s.grant({ tenant: str(p, "tenant"), permissions: (optList(p, "permissions") ?? []) as Permission[], services: someList(p, "services"), ttlMs, note: optStr(p, "note") });
  },
  async Revoke(s, p) {
    return s.revoke(optStr(p, "token") ?? str(p, "id"));
  },
  async PutSecret(s, p) {
    // Unset (gRPC's empty string) reaches the vault as "", which says what is wrong with it.
    return s.putSecret(str(p, "tenant"), str(p, "name"), p.value === undefined || p.value === null ? "" : str(p, "value"));
  },
  async ListSecrets(s, p) {
    return { secrets: await s.secrets(str(p, "tenant")) };
  },
  async RemoveSecret(s, p) {
    return s.removeSecret(str(p, "tenant"), str(p, "name"));
  },
  /** A secret's value: an admin token only. */
  async GetSecret(s, p) {
    const tenant = str(p, "tenant");
    const name = str(p, "name");
    return { tenant, name, value: await s.secret(tenant, name) };
  },
  /** A new master key for every secret (admin); `newKey` only when the host's key comes from SOLO_MASTER_KEY. */
  async RotateSecrets(s, p) {
    return s.rotateSecrets(optStr(p, "newKey"));
  },
  /** Offline narrowing, done for clients that have no library for it: needs no session rights. */
  async Attenuate(_s, p) {
    const permissions = someList(p, "permissions") as Permission[] | undefined;
    const services = someList(p, "services");
    const expiresAt = optNumber(p, "expiresAt");
    const token = attenuate(str(p, "token"), { ...(permissions ? { permissions } : {}), ...(services ? { services } : {}), ...(expiresAt ? { expiresAt } : {}) });
    return { token, id: tokenId(token) };
  },
  /** The host's health (admin); `full` verifies the whole event chain. */
  async Audit(s, p) {
    if (p.full !== undefined && p.full !== null && typeof p.full !== "boolean") throw new SoloError("INVALID_ARGUMENT", "full must be true or false", { field: "full" });
    return s.audit({ full: p.full === true });
  },
  ...SWAP_METHODS,
};

/** An open event stream, whatever carries it: iterate it, close() when the client goes. */
export interface EventFeed extends AsyncIterable<SoloEvent> {
  close(): void;
}

/**
 * The Events method: a tenant's events (an admin may leave the tenant out: every tenant), after
 * `after`, then live ones when `follow`. Without follow it ends after the stored ones.
 */
export async function openEvents(s: Session, p: Params): Promise<EventFeed> {
  const tenant = optStr(p, "tenant");
  const type = optStr(p, "type");
  if (type !== undefined && !(EVENT_TYPES as readonly string[]).includes(type)) throw new SoloError("INVALID_ARGUMENT", `type must be one of ${EVENT_TYPES.join(", ")}`, { field: "type" });
  const filter: Omit<EventFilter, "tenant"> = { ...(optStr(p, "service") ? { service: optStr(p, "service") } : {}), ...(type ? { type: type as EventType } : {}) };
  const after = optStr(p, "after");
  const limit = optNumber(p, "limit");
  if (p.follow === true) {
    // Stored events first, then live ones: a subscription replays only after an id ("" = the start).
    const from = { after: after ?? "" };
    const sub = tenant === undefined ? (await s.eventLog()).subscribe(filter, from) : await s.subscribe(tenant, filter, from);
    // A stream lives only as long as its token: checked before each event and every second while
    // it is idle, so a revoked or expired token's stream ends at once with UNAUTHENTICATED.
    const stillLive = (): SoloError | undefined => {
      try {
        s.whoami();
        return undefined;
      } catch (err) {
        return toSoloError(err);
      }
    };
    const timer = setInterval(() => {
      const dead = stillLive();
      if (dead) sub.abort(dead);
    }, TOKEN_RECHECK_MS);
    timer.unref();
    const iterator: AsyncIterator<SoloEvent> = {
      next: async () => {
        try {
          const dead = stillLive();
          if (dead) sub.abort(dead);
          const r = await sub.next();
          const after = r.done ? undefined : stillLive();
          if (after) {
            sub.abort(after);
            return await sub.next();
          }
          if (r.done) clearInterval(timer);
          return r;
        } catch (err) {
          clearInterval(timer);
          throw err;
        }
      },
      return: async () => {
        clearInterval(timer);
        return sub.return();
      },
    };
    return {
      [Symbol.asyncIterator]: () => iterator,
      close: () => {
        clearInterval(timer);
        sub.close();
      },
    };
  }
  const query = { ...filter, ...(after ? { after } : {}), ...(limit ? { limit } : {}) };
  const gen = tenant === undefined ? (await s.eventLog()).stream(query) : await s.events(tenant, query);
  return { [Symbol.asyncIterator]: () => gen, close: () => void gen.return(undefined) };
}

/** How often an idle live stream checks that its token still works. */
const TOKEN_RECHECK_MS = 1_000;

/**
 * The Logs method: a service's guest log lines kept in memory (`tail`, default all kept), then
 * live ones when `follow`. Without a service, every service of the tenant the token covers.
 * Like a followed Events stream it lives only as long as its token.
 */
export async function openLogs(s: Session, p: Params): Promise<LogFeed> {
  const tenant = str(p, "tenant");
  const service = optStr(p, "service");
  const t = p.tail;
  let tail: number | undefined;
  if (t !== undefined && t !== null && t !== "") {
    tail = typeof t === "string" && /^\d+$/.test(t) ? Number(t) : (t as number);
    if (typeof tail !== "number" || !Number.isSafeInteger(tail) || tail < 0) throw new SoloError("INVALID_ARGUMENT", "tail must be a whole number of lines", { field: "tail" });
  }
  if (p.follow !== undefined && p.follow !== null && typeof p.follow !== "boolean") throw new SoloError("INVALID_ARGUMENT", "follow must be true or false", { field: "follow" });
  const feed = await s.logs(tenant, service, { follow: p.follow === true, ...(tail !== undefined && { tail }) });
  if (p.follow !== true) return feed;
  const timer = setInterval(() => {
    try {
      s.whoami();
    } catch (err) {
      clearInterval(timer);
      feed.abort(toSoloError(err));
    }
  }, TOKEN_RECHECK_MS);
  timer.unref();
  return {
    [Symbol.asyncIterator]: () => {
      const it = feed[Symbol.asyncIterator]();
      return {
        next: async () => {
          const r = await it.next().catch((err) => {
            clearInterval(timer);
            throw err;
          });
          if (r.done) clearInterval(timer);
          else {
            // Checked before each line too, so nothing logged after a revocation is sent.
            try {
              s.whoami();
            } catch (err) {
              clearInterval(timer);
              feed.close();
              throw toSoloError(err);
            }
          }
          return r;
        },
        return: async () => {
          clearInterval(timer);
          return it.return ? it.return() : { done: true, value: undefined };
        },
      };
    },
    close: () => {
      clearInterval(timer);
      feed.close();
    },
    abort: (err) => {
      clearInterval(timer);
      feed.abort(err);
    },
  };
}
