// The token text and its MAC chain: macaroon-style HMAC-SHA256 with node:crypto.
//
// Why macaroons: no dependency (node:crypto has HMAC-SHA256); a holder can narrow a token
// offline, without the key, by appending a caveat (sig_i = HMAC(sig_{i-1}, caveat_i)); and
// verifying costs one HMAC per caveat plus two for the start. Nobody can remove a caveat: that
// needs sig_{i-1}, which HMAC does not give back.
//
//   solo_[admin_]<grantId>[.<caveat>]*.<sig>      ASCII; caveats and sig are base64url (no padding)
//
// grantId is a ULID. `admin_` marks the token of an admin grant (tenant "*"), so that attenuate,
// which has no key and no grant, knows it may only shorten such a token's expiry; the verifier
// refuses the mark on any other grant's token and its absence on an admin grant's, so each token
// has one spelling. The first MAC is sig_0 = HMAC(HMAC(root, "solo-token-v1:" + grantId), grantId).
// A caveat is one of `p:<permission>,...` (only these permissions), `s:<service>,...` (only
// these services) or `e:<epoch ms>` (expires no later than). A caveat can only narrow: the
// authority is the grant intersected with every caveat, so one that names more than its parent
// changes nothing. Unknown or malformed caveats make the whole token invalid (fail closed).
// An admin token takes only `e:` caveats: narrowed in permissions or services it would keep
// tenant "*" (every tenant) with most of its power, so a narrower admin token is refused and a
// tenant token is granted instead.
import { createHash, createHmac } from "node:crypto";
import { SoloError } from "../errors.ts";
import { isName, isPermission, PERMISSIONS, type Permission } from "./permissions.ts";

export const PREFIX = "solo_";
/** After PREFIX on the token of an admin grant. */
export const ADMIN_MARK = "admin_";
/** Longest token text accepted, checked before any decoding or hashing. */
export const MAX_TOKEN_CHARS = 4096;
export const MAX_CAVEATS = 32;
const SIG_CHARS = 43; // 32 bytes in base64url
const GRANT_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const TOKEN_CHARS = /^solo_[A-Za-z0-9_.-]+$/;
const DERIVED_ID = /^[0-9A-HJKMNP-TV-Z]{26}\.[A-Za-z0-9_-]{16}$/;

export type Caveat = { kind: "p"; permissions: Permission[] } | { kind: "s"; services: string[] } | { kind: "e"; expiresAt: number };

export interface ParsedToken {
  grantId: string;
  /** The text carries ADMIN_MARK (the verifier checks it against the grant). */
  admin: boolean;
  caveats: Caveat[];
  /** Each caveat's bytes, as MACed. */
  raw: Buffer[];
  sig: Buffer;
}

const bad = (why: string) => new SoloError("UNAUTHENTICATED", `not a valid Solo token: ${why}; use a token this host granted (solo_...), unmodified`);

/** Cheap, keyless checks and decoding; throws UNAUTHENTICATED. Never hashes. */
export function parseToken(text: unknown): ParsedToken {
  if (typeof text !== "string" || text.length === 0) throw bad("no token was given");
  if (text.length > MAX_TOKEN_CHARS) throw bad(`it is ${text.length} characters, the limit is ${MAX_TOKEN_CHARS}`);
  if (!text.startsWith(PREFIX)) throw bad(`it does not start with "${PREFIX}"`);
  if (!TOKEN_CHARS.test(text)) throw bad("it contains characters outside base64url and '.' (whitespace, NUL or non-ASCII)");
  const parts = text.slice(PREFIX.length).split(".");
  if (parts.length < 2) throw bad("it has no signature");
  if (parts.length - 2 > MAX_CAVEATS) throw bad(`it has ${parts.length - 2} caveats, the limit is ${MAX_CAVEATS}`);
  const admin = parts[0]!.startsWith(ADMIN_MARK);
  const grantId = admin ? parts[0]!.slice(ADMIN_MARK.length) : parts[0]!;
  if (!GRANT_ID.test(grantId)) throw bad("its grant id is malformed");
  const sigText = parts[parts.length - 1]!;
  const sig = sigText.length === SIG_CHARS ? decode(sigText) : undefined;
  if (!sig || sig.length !== 32) throw bad("its signature is malformed");
  const raw: Buffer[] = [];
  const caveats: Caveat[] = [];
  for (let i = 1; i < parts.length - 1; i++) {
    const bytes = decode(parts[i]!);
    const caveat = bytes && parseCaveat(bytes.toString("latin1"));
    if (!caveat) throw bad(`caveat ${i} is malformed`);
    raw.push(bytes);
    caveats.push(caveat);
  }
  return { grantId, admin, caveats, raw, sig };
}

/** Canonical base64url only: a second spelling of the same bytes would be a second token. */
function decode(s: string): Buffer | undefined {
  if (s.length === 0) return undefined;
  const b = Buffer.from(s, "base64url");
  return b.toString("base64url") === s ? b : undefined;
}

function parseCaveat(c: string): Caveat | undefined {
  if (c.length < 2 || c[1] !== ":") return undefined;
  const body = c.slice(2);
  const list = body === "" ? [] : body.split(",");
  switch (c[0]) {
    case "p":
      return list.every(isPermission) && new Set(list).size === list.length ? { kind: "p", permissions: list as Permission[] } : undefined;
    case "s":
      return list.every(isName) && new Set(list).size === list.length ? { kind: "s", services: list } : undefined;
    case "e": {
      if (!/^[0-9]{1,16}$/.test(body)) return undefined;
      const at = Number(body);
      return Number.isSafeInteger(at) ? { kind: "e", expiresAt: at } : undefined;
    }
    default:
      return undefined;
  }
}

function caveatText(c: Caveat): string {
  return c.kind === "p" ? `p:${c.permissions.join(",")}` : c.kind === "s" ? `s:${c.services.join(",")}` : `e:${c.expiresAt}`;
}

const hmac = (key: Buffer, data: Buffer | string) => createHmac("sha256", key).update(data).digest();

/** sig_0 of a grant: the MAC of a token with no caveats. Two HMACs. */
export function firstSig(root: Buffer, grantId: string): Buffer {
  return hmac(hmac(root, `solo-token-v1:${grantId}`), grantId);
}

/** sig_i for i = 1..n (one HMAC each); the last is the token's expected signature. */
export function chainSigs(sig0: Buffer, raw: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  let sig = sig0;
  for (const r of raw) out.push((sig = hmac(sig, r)));
  return out;
}

export function tokenText(grantId: string, admin: boolean, raw: Buffer[], sig: Buffer): string {
  let s = PREFIX + (admin ? ADMIN_MARK : "") + grantId;
  for (const r of raw) s += "." + r.toString("base64url");
  return s + "." + sig.toString("base64url");
}

/** The id of a token whose last MAC is `sig`: the grant id when it has no caveats. */
export function derivedId(grantId: string, sig: Buffer): string {
  return `${grantId}.${createHash("sha256").update("solo-token-id:").update(sig).digest("base64url").slice(0, 16)}`;
}

export const isTokenId = (s: string) => GRANT_ID.test(s) || DERIVED_ID.test(s);
export const grantIdOf = (id: string) => id.slice(0, 26);

/**
 * A token's id, computed without the key: its grant id, or for a narrowed token grantId + "." +
 * 16 characters of a hash of its last MAC (one per derivation). Safe to print; the token is not.
 * Throws UNAUTHENTICATED for text that is not a well-formed token (the MAC is not checked here).
 */
export function tokenId(token: string): string {
  const p = parseToken(token);
  return p.raw.length === 0 ? p.grantId : derivedId(p.grantId, p.sig);
}

export interface Narrower {
  permissions?: Permission[];
  services?: string[];
  expiresAt?: number;
}

/**
 * Offline, without the key: the token with more caveats. INVALID_ARGUMENT when asked to widen as
 * far as the token's caveats show (a permission or service outside an earlier caveat, a later
 * expiry), or to narrow an admin token other than in expiry; the grant itself is not known here,
 * and verify intersects with it anyway.
 */
export function attenuate(token: string, narrower: Narrower): string {
  const p = parseToken(token);
  if (typeof narrower !== "object" || narrower === null) throw invalid("narrower", "give { permissions?, services?, expiresAt? }");
  if (p.admin) {
    const field = narrower.permissions !== undefined ? "permissions" : narrower.services !== undefined ? "services" : undefined;
    if (field) throw invalid(field, "an admin token can be narrowed only in expiry (expiresAt): it acts for every tenant, so fewer permissions or services would still reach all of them; grant a tenant token instead");
  }
  const add: Caveat[] = [];
  const now = effective(p.caveats);
  if (narrower.permissions !== undefined) {
    const ps = narrower.permissions;
    if (!Array.isArray(ps) || !ps.every(isPermission)) throw invalid("permissions", `use a list of ${PERMISSIONS.join(", ")}`);
    const wider = now.permissions ? ps.filter((x) => !now.permissions!.has(x)) : [];
    if (wider.length) throw invalid("permissions", `the token does not hold ${wider.join(", ")}; a narrower token can only drop permissions`);
    add.push({ kind: "p", permissions: [...new Set(ps)] });
  }
  if (narrower.services !== undefined) {
    const ss = narrower.services;
    if (!Array.isArray(ss) || !ss.every(isName)) throw invalid("services", "use a list of service names (a-z, 0-9, _ and -)");
    const wider = now.services ? ss.filter((x) => !now.services!.has(x)) : [];
    if (wider.length) throw invalid("services", `the token is not good for ${wider.join(", ")}; a narrower token can only drop services`);
    add.push({ kind: "s", services: [...new Set(ss)] });
  }
  if (narrower.expiresAt !== undefined) {
    const at = narrower.expiresAt;
    if (!Number.isSafeInteger(at) || at < 0) throw invalid("expiresAt", "use epoch milliseconds, a whole number");
    if (now.expiresAt !== undefined && at > now.expiresAt) throw invalid("expiresAt", `the token already expires at ${now.expiresAt}; a narrower token can only expire sooner`);
    add.push({ kind: "e", expiresAt: at });
  }
  if (add.length === 0) throw invalid("narrower", "name at least one of permissions, services, expiresAt");
  if (p.caveats.length + add.length > MAX_CAVEATS) throw invalid("narrower", `a token holds at most ${MAX_CAVEATS} caveats; ask the host for a new grant instead`);
  const raw = [...p.raw, ...add.map((c) => Buffer.from(caveatText(c), "latin1"))];
  const sigs = chainSigs(p.sig, raw.slice(p.raw.length));
  const out = tokenText(p.grantId, p.admin, raw, sigs[sigs.length - 1]!);
  if (out.length > MAX_TOKEN_CHARS) throw invalid("narrower", `the narrowed token would be ${out.length} characters, the limit is ${MAX_TOKEN_CHARS}`);
  return out;
}

function invalid(field: string, message: string): SoloError {
  return new SoloError("INVALID_ARGUMENT", `cannot narrow the token (${field}): ${message}`, { field });
}

/** What the caveats alone allow: undefined = not limited by any caveat. */
export function effective(caveats: Caveat[]): { permissions?: Set<Permission>; services?: Set<string>; expiresAt?: number } {
  let permissions: Set<Permission> | undefined;
  let services: Set<string> | undefined;
  let expiresAt: number | undefined;
  for (const c of caveats) {
    if (c.kind === "p") permissions = permissions ? new Set(c.permissions.filter((x) => permissions!.has(x))) : new Set(c.permissions);
    else if (c.kind === "s") services = services ? new Set(c.services.filter((x) => services!.has(x))) : new Set(c.services);
    else expiresAt = expiresAt === undefined ? c.expiresAt : Math.min(expiresAt, c.expiresAt);
  }
  return { permissions, services, expiresAt };
}
