// The service verbs over the network: deploy, call, status, list, discover, kill, usage. Each answers the
// same as a Host session; --json prints the answer as one JSON line (call: exactly what
// `solo run --json` prints), without it a short human form.
import { basename } from "node:path";
import { isCoreModule } from "../wasm/binary.ts";
import type { ServiceStatus } from "../services/service-record.ts";
import type { TenantUsage } from "../governance/quotas.ts";
import { EXIT, UsageError, list, positiveInt, printJson, quotaPairs, readLocalFile } from "./common.ts";
import { withClient, type ConnectOptions } from "./connect.ts";
import { languageFlag } from "./local.ts";

export interface DeployOptions extends ConnectOptions {
  tenant: string;
  service?: string;
  lang?: string;
  compiler?: string;
  cap?: string;
  fuel?: string;
  memory?: string;
  deadline?: string;
  maxRequestBytes?: string;
  maxResponseBytes?: string;
  kvMaxBytes?: string;
  description?: string;
  tag?: string[];
  tags?: string;
}

/** echo.as.ts -> echo, my-svc.ts -> my-svc: the name without every extension. */
export function serviceName(file: string): string {
  return basename(file).replace(/\..*$/, "");
}

export async function deploy(file: string, o: DeployOptions): Promise<number> {
  let language: string = languageFlag(o.lang, file);
  const service = o.service ?? serviceName(file);
  const limits: Record<string, number> = {};
  const flags = [["fuel", "fuel", o.fuel], ["memory", "memoryBytes", o.memory], ["deadline", "deadlineMs", o.deadline], ["max-request-bytes", "maxRequestBytes", o.maxRequestBytes], ["max-response-bytes", "maxResponseBytes", o.maxResponseBytes], ["kv-max-bytes", "kvMaxBytes", o.kvMaxBytes]] as const;
  for (const [flag, field, value] of flags) if (value !== undefined) limits[field] = positiveInt(flag, value)!;
  if (o.compiler !== undefined && o.compiler !== "quickjs" && o.compiler !== "javy") throw new UsageError(`--compiler must be quickjs or javy`);
  let source: string | Uint8Array;
  const bytes = readLocalFile(file);
  source = language === "component" || language === "javy" ? new Uint8Array(bytes) : bytes.toString("utf8");
  if (o.lang === undefined && language === "component" && isCoreModule(source as Uint8Array)) language = "javy";
  const capabilities = list(o.cap);
  // The API cannot tell an empty list from none given (a default): refuse it rather than widen it.
  if (capabilities !== undefined && capabilities.length === 0) throw new UsageError("--cap needs at least one capability (an empty list would mean the default, log,clock,random,kv); e.g. --cap log");
  const tags = [...(o.tag ?? []), ...(list(o.tags) ?? [])];
  return withClient(o, async (c) => {
    const stop = progress(`deploying ${o.tenant}/${service} (validate, compile, meter)`);
    try {
      const result = await c.deploy({ tenant: o.tenant, service, source, language, file: basename(file), ...(Object.keys(limits).length && { limits }), ...(o.compiler && { compiler: o.compiler as "quickjs" | "javy" }), ...(capabilities && { capabilities }), ...(o.description !== undefined && { description: o.description }), ...(tags.length && { tags }) });
      stop();
      if (o.json) printJson(result);
      else process.stdout.write(`deployed ${result.tenant}/${result.service} version ${result.version} (${result.language}, artifact ${result.artifact.slice(0, 12)}, capabilities ${result.capabilities.join(",") || "none"})\n`);
      return EXIT.ok;
    } finally {
      stop();
    }
  });
}

/** A line on stderr counting seconds while a deploy compiles, only on a terminal; stop() erases it. */
export function progress(what: string): () => void {
  if (!process.stderr.isTTY) return () => {};
  const started = Date.now();
  const draw = () => process.stderr.write(`\r\x1b[Ksolo: ${what}... ${Math.round((Date.now() - started) / 1000)}s`);
  draw();
  const timer = setInterval(draw, 1000);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    clearInterval(timer);
    process.stderr.write("\r\x1b[K");
  };
}

export async function call(tenant: string, service: string, request: string | undefined, o: ConnectOptions & { inputFile?: string }): Promise<number> {
  if (request !== undefined && o.inputFile !== undefined) throw new UsageError("give REQUEST or --input-file, not both");
  let input = request ?? "";
  if (o.inputFile !== undefined) input = readLocalFile(o.inputFile).toString("utf8");
  return withClient(o, async (c) => {
    const reply = await c.call(tenant, service, input);
    if (o.json) printJson({ output: reply.output, fuel: reply.fuel, memoryBytes: reply.memoryBytes });
    else process.stdout.write(reply.output + "\n");
    return EXIT.ok;
  });
}

function statusLines(s: ServiceStatus): string {
  const errors = Object.entries(s.errors ?? {}).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  return [
    `${s.tenant}/${s.service}: ${s.state}${s.failure ? ` (${s.failure.code}: ${s.failure.message})` : ""}`,
    `  version ${s.version}, ${s.language}, artifact ${s.artifact}`,
    `  deployed ${s.deployedAt}; calls ${s.calls}, fuel used ${s.fuelUsed}, memory ${s.memoryBytes} bytes; errors: ${errors}`,
    `  limits: fuel ${s.limits.fuel}, memory ${s.limits.memoryBytes}, deadline ${s.limits.deadlineMs} ms`,
    `  capabilities: ${s.capabilities?.join(", ") || "none"}`,
    ...(s.tags?.length ? [`  tags: ${s.tags.join(", ")}`] : []),
    ...(s.description ? [`  description: ${s.description}`] : []),
    ...(s.warnings ?? []).map((w) => `  warning ${w.rule} at ${w.line}:${w.column}: ${w.message}`),
    ...swapStatusLines(s),
  ].join("\n") + "\n";
}

/** What a swap left in status: the previous version, an open rollback window, crashes in a row. */
function swapStatusLines(s: ServiceStatus): string[] {
  const out: string[] = [];
  if (s.previousVersion !== undefined) out.push(`  previous version ${s.previousVersion}`);
  const w = s.rollbackWindow;
  if (w) out.push(`  rollback window open until ${new Date(w.until).toISOString()}: back to version ${w.previousVersion} by itself if it fails (${w.failures} failed of ${w.calls} calls so far)`);
  const c = s.crashes;
  if (c) {
    out.push(`  crashes: ${c.consecutive} in a row${c.until > Date.now() ? `, calls refused until ${new Date(c.until).toISOString()}` : ""}`);
    for (const x of c.last ?? []) out.push(`  crash at ${x.at}: ${x.code}: ${x.message}`);
  }
  return out;
}

export async function status(tenant: string, service: string, o: ConnectOptions): Promise<number> {
  return withClient(o, async (c) => {
    const s = await c.status(tenant, service);
    if (o.json) printJson(s);
    else process.stdout.write(statusLines(s));
    return EXIT.ok;
  });
}

export async function listServices(tenant: string, o: ConnectOptions): Promise<number> {
  return withClient(o, async (c) => {
    const services = await c.list(tenant);
    if (o.json) printJson(services);
    else if (services.length === 0) process.stdout.write(`${tenant} has no services\n`);
    else for (const s of services) process.stdout.write(`${s.service}\t${s.state}\tv${s.version}\t${s.language}\tcalls ${s.calls}\tfuel ${s.fuelUsed}\n`);
    return EXIT.ok;
  });
}

export async function discover(tenant: string, o: ConnectOptions & { tag?: string; name?: string }): Promise<number> {
  return withClient(o, async (c) => {
    const services = await c.discover({ tenant, ...(o.name !== undefined && { name: o.name }), ...(o.tag !== undefined && { tag: o.tag }) });
    if (o.json) printJson(services);
    else if (services.length === 0) process.stdout.write(`no service of ${tenant} that this token may call matches\n`);
    else for (const s of services) process.stdout.write(`${s.service}\t${s.state}\tv${s.version}\t${s.language}\ttags ${s.tags.join(",") || "-"}\t${s.description}\n`);
    return EXIT.ok;
  });
}

export async function kill(tenant: string, service: string, o: ConnectOptions): Promise<number> {
  return withClient(o, async (c) => {
    await c.kill(tenant, service);
    if (o.json) printJson({ tenant, service, killed: true });
    else process.stdout.write(`killed ${tenant}/${service}\n`);
    return EXIT.ok;
  });
}

export async function usage(tenant: string, o: ConnectOptions): Promise<number> {
  return withClient(o, async (c) => {
    const u: TenantUsage = await c.usage(tenant);
    if (o.json) printJson(u);
    else {
      process.stdout.write(`${u.tenant}: quota  used / limit\n`);
      for (const [name, q] of Object.entries(u.quotas) as [string, { limit: number; used?: number }][]) process.stdout.write(`  ${name}  ${q.used ?? "-"} / ${q.limit}\n`);
    }
    return EXIT.ok;
  });
}

export async function quota(tenant: string, pairs: string[], o: ConnectOptions): Promise<number> {
  const asked = quotaPairs("quota", pairs)!;
  return withClient(o, async (c) => {
    const now = await c.setQuotas(tenant, asked);
    if (o.json) printJson({ tenant, quotas: now });
    else for (const [name, value] of Object.entries(now)) process.stdout.write(`${name} ${value}\n`);
    return EXIT.ok;
  });
}
