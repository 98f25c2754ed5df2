// `solo secret put|ls|rm|get|rotate`. A value is read from standard input (or --value, which shows
// in ps: for scripts and tests) and is never printed, except by `get`, an admin's explicit ask.
import type { SecretInfo } from "../vault/index.ts";
import { EXIT, UsageError, printJson, readLocalFile } from "./common.ts";
import { withClient, type ConnectOptions } from "./connect.ts";

/** More than any value the server takes (64 KiB): a larger input is refused there, not read whole. */
const MAX_STDIN_BYTES = 1024 * 1024;

/** Standard input as text, one trailing newline dropped (what `echo VALUE |` adds). */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError("give the value on standard input (printf %s \"$VALUE\" | solo secret put TENANT NAME) or with --value");
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_STDIN_BYTES) throw new UsageError(`the value on standard input is over ${MAX_STDIN_BYTES} bytes; a secret holds at most 65536`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
}

function line(s: SecretInfo): string {
  return `${s.name}\tv${s.version}\tupdated ${s.updatedAt}${s.damaged ? "\tDAMAGED: store it again" : ""}`;
}

export async function put(tenant: string, name: string, o: ConnectOptions & { value?: string }): Promise<number> {
  const value = o.value ?? (await readStdin());
  return withClient(o, async (c) => {
    const s = await c.putSecret(tenant, name, value);
    if (o.json) printJson(s);
    else process.stdout.write(`stored ${s.tenant}/${s.name} version ${s.version}\n`);
    return EXIT.ok;
  });
}

export async function ls(tenant: string, o: ConnectOptions): Promise<number> {
  return withClient(o, async (c) => {
    const all = await c.secrets(tenant);
    if (o.json) printJson(all);
    else if (all.length === 0) process.stdout.write(`${tenant} has no secrets\n`);
    else for (const s of all) process.stdout.write(line(s) + "\n");
    return EXIT.ok;
  });
}

export async function rm(tenant: string, name: string, o: ConnectOptions): Promise<number> {
  return withClient(o, async (c) => {
    const s = await c.removeSecret(tenant, name);
    if (o.json) printJson({ tenant: s.tenant, name: s.name, version: s.version, removed: true });
    else process.stdout.write(`removed ${s.tenant}/${s.name} (version ${s.version})\n`);
    return EXIT.ok;
  });
}

/** An admin reads a value: printed as it is, with no newline added unless --json. */
export async function get(tenant: string, name: string, o: ConnectOptions): Promise<number> {
  return withClient(o, async (c) => {
    const value = await c.secret(tenant, name);
    if (o.json) printJson({ tenant, name, value });
    else process.stdout.write(value);
    return EXIT.ok;
  });
}

export async function rotate(o: ConnectOptions & { newKeyFile?: string }): Promise<number> {
  let newKey: string | undefined;
  if (o.newKeyFile !== undefined) newKey = readLocalFile(o.newKeyFile).toString("utf8").trim();
  return withClient(o, async (c) => {
    const r = await c.rotateSecrets(newKey);
    if (o.json) printJson(r);
    else process.stdout.write(`rotated: ${r.secrets} secret${r.secrets === 1 ? "" : "s"} re-sealed, key ${r.previousKeyId} -> ${r.keyId}\n`);
    return EXIT.ok;
  });
}
