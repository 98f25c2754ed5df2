// How a client verb reaches the server: gRPC over mutual TLS to --server, with the CA, client
// certificate and key from --data DIR/tls/ (the operator's admin.pem by default) and the token
// from --token / SOLO_TOKEN or DIR/admin.token. The transport is loaded only when a verb runs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SoloError } from "../errors.ts";
import type { SoloClient } from "../client/types.ts";

export interface ConnectOptions {
  server: string;
  data: string;
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
  json?: boolean;
}

function readPem(what: "ca" | "cert" | "key", path: string, data: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new SoloError("INVALID_ARGUMENT", `cannot read the ${what === "ca" ? "CA certificate" : what === "cert" ? "client certificate" : "client key"} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --data DIR (the server's data directory, now ${data}) or --${what} FILE`, { field: what });
  }
}

export function readToken(o: ConnectOptions): string {
  if (o.token !== undefined && o.token !== "") return o.token.trim();
  const path = join(o.data, "admin.token");
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    throw new SoloError("UNAUTHENTICATED", `no token: pass --token TOKEN, set SOLO_TOKEN, or --data DIR where the server keeps admin.token (${path} cannot be read)`, { field: "token" });
  }
}

export async function connect(o: ConnectOptions): Promise<SoloClient> {
  const tls = join(o.data, "tls");
  const ca = readPem("ca", o.ca ?? join(tls, "ca.pem"), o.data);
  const cert = readPem("cert", o.cert ?? join(tls, "admin.pem"), o.data);
  const key = readPem("key", o.key ?? join(tls, "admin-key.pem"), o.data);
  const token = readToken(o);
  quietIpServerName();
  // grpc-js and the proto load only here (~0.2 s), not for local verbs.
  const { GrpcClient } = await import("../client/grpc-client.ts");
  return GrpcClient.connect({ address: o.server, ca, cert, key, token });
}

/**
 * Node warns (DEP0123) when TLS is given an IP address as the server name, which grpc-js does for
 * --server 127.0.0.1:PORT; the certificate is still checked against its IP addresses. The CLI
 * drops that one warning so it does not precede every answer; all others still print.
 */
function quietIpServerName(): void {
  const emit = process.emitWarning;
  process.emitWarning = function (warning: string | Error, ...rest: unknown[]) {
    if (rest.includes("DEP0123") || (typeof rest[0] === "object" && (rest[0] as { code?: string } | null)?.code === "DEP0123")) return;
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
}

/** Runs fn with a connected client and closes it after, whatever happens. */
export async function withClient<T>(o: ConnectOptions, fn: (c: SoloClient) => Promise<T>): Promise<T> {
  const client = await connect(o);
  try {
    return await fn(client);
  } finally {
    await client.close().catch(() => {});
  }
}
