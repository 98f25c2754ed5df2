// `solo token grant|revoke|attenuate`. grant and revoke ask the server; attenuate is offline (the
// token's caveats are appended here, no key and no server needed). A token is printed once, on
// stdout; nothing else is ever written with it.
import { attenuate, tokenId } from "../capability/token.ts";
import { PERMISSIONS, type Permission } from "../capability/permissions.ts";
import { EXIT, UsageError, durationMs, list, printJson } from "./common.ts";
import { withClient, type ConnectOptions } from "./connect.ts";

function permissions(value: string | undefined): Permission[] | undefined {
  const ps = list(value);
  const bad = ps?.filter((p) => !(PERMISSIONS as readonly string[]).includes(p));
  if (bad?.length) throw new UsageError(`--permissions takes ${PERMISSIONS.join(", ")}; not ${bad.join(", ")}`);
  return ps as Permission[] | undefined;
}

export const DEFAULT_TTL = "1h";

export async function grant(o: ConnectOptions & { tenant: string; permissions: string; services?: string; ttl: string; note?: string }): Promise<number> {
  const ps = permissions(o.permissions);
  if (!ps?.length) throw new UsageError("--permissions needs at least one permission");
  const services = list(o.services);
  const ttlMs = durationMs("ttl", o.ttl);
  return withClient(o, async (c) => {
    const g = await c.grant({ tenant: o.tenant, permissions: ps, ...(services?.length && { services }), ttlMs, ...(o.note && { note: o.note }) });
    if (o.json) printJson({ token: g.token, id: g.id, expiresAt: g.expiresAt });
    else {
      process.stdout.write(g.token + "\n");
      process.stderr.write(`solo: token ${g.id} for ${o.tenant} (${ps.join(",")}${services?.length ? ` on ${services.join(",")}` : ""}) expires ${new Date(g.expiresAt).toISOString()}; it is shown only now\n`);
    }
    return EXIT.ok;
  });
}

export async function revoke(tokenOrId: string, o: ConnectOptions): Promise<number> {
  return withClient(o, async (c) => {
    const r = await c.revoke(tokenOrId);
    if (o.json) printJson(r);
    else process.stdout.write(`revoked ${r.id} (${r.revoked} token${r.revoked === 1 ? "" : "s"} with the ones derived from it)\n`);
    return EXIT.ok;
  });
}

export function attenuateToken(token: string, o: { permissions?: string; services?: string; ttl?: string; json?: boolean }): number {
  const ps = permissions(o.permissions);
  const services = list(o.services);
  const narrower = { ...(ps?.length && { permissions: ps }), ...(services?.length && { services }), ...(o.ttl !== undefined && { expiresAt: Date.now() + durationMs("ttl", o.ttl) }) };
  const narrowed = attenuate(token, narrower);
  if (o.json) printJson({ token: narrowed, id: tokenId(narrowed), ...(narrower.expiresAt !== undefined && { expiresAt: narrower.expiresAt }) });
  else process.stdout.write(narrowed + "\n");
  return EXIT.ok;
}
