// The hot swap verbs over the network: swap, rollback, versions, replace. Each answers what a
// session answers; --json prints the answer as one JSON line, without it one line per fact.
import { basename } from "node:path";
import { isCoreModule } from "../wasm/binary.ts";
import type { SwapResult } from "../services/service-record.ts";
import type { VersionInfo } from "../services/versions.ts";
import { EXIT, UsageError, durationMs, list, printJson, readLocalFile } from "./common.ts";
import { withClient, type ConnectOptions } from "./connect.ts";
import { languageFlag } from "./local.ts";
import { progress, serviceName } from "./services.ts";

export interface SwapOptions extends ConnectOptions {
  lang?: string;
  cap?: string;
  rollbackWindow?: string;
  maxFailureRate?: string;
  healthRequest?: string;
  healthExpect?: string;
}

export interface ReplaceOptions extends ConnectOptions {
  tenant: string;
  service?: string;
  lang?: string;
  cap?: string;
}

/** A file's source as the API takes it (bytes for a component or a javy module), and its language. */
function readSource(file: string, lang: string | undefined): { source: string | Uint8Array; language: string } {
  let language: string = languageFlag(lang, file);
  let source: string | Uint8Array;
  const bytes = readLocalFile(file);
  source = language === "component" || language === "javy" ? new Uint8Array(bytes) : bytes.toString("utf8");
  if (lang === undefined && language === "component" && isCoreModule(source as Uint8Array)) language = "javy";
  return { source, language };
}

function capabilities(value: string | undefined): string[] | undefined {
  const caps = list(value);
  // The API cannot tell an empty list from none given (keep the running ones): refuse it.
  if (caps !== undefined && caps.length === 0) throw new UsageError("--cap needs at least one capability; leave it out to keep the running version's");
  return caps;
}

/** A rollback window: 0 (none) or a duration such as 30s, 2m, 500ms. */
export function windowMs(value: string): number {
  if (/^0+(ms|s|m|h|d)?$/.test(value.trim())) return 0;
  return durationMs("rollback-window", value);
}

/** A share of calls, from 0 to below 1 (0.1 = one call in ten). */
export function failureRate(value: string): number {
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= 0 && n < 1)) throw new UsageError(`--max-failure-rate must be a number from 0 (roll back on the first failure) to below 1, e.g. 0.1; got ${JSON.stringify(value)}`);
  return n;
}

/** HH:MM:SS, local time. */
function clock(epochMs: number): string {
  return new Date(epochMs).toTimeString().slice(0, 8);
}

function swapLines(verb: string, r: SwapResult): string {
  const window = r.rollbackUntil !== undefined ? `; rolls back by itself until ${clock(r.rollbackUntil)} if it fails` : "";
  return [
    `${verb} ${r.tenant}/${r.service} to version ${r.version} (from ${r.previousVersion}) in ${r.switchMs.toFixed(1)} ms${window}`,
    ...(r.warnings ?? []).map((w) => `warning ${w.rule} at ${w.line}:${w.column}: ${w.message}`),
  ].join("\n") + "\n";
}

export async function swap(tenant: string, service: string, file: string, o: SwapOptions): Promise<number> {
  const { source, language } = readSource(file, o.lang);
  const caps = capabilities(o.cap);
  const rollbackWindowMs = o.rollbackWindow === undefined ? undefined : windowMs(o.rollbackWindow);
  const maxFailureRate = o.maxFailureRate === undefined ? undefined : failureRate(o.maxFailureRate);
  if ((o.healthRequest === undefined) !== (o.healthExpect === undefined)) throw new UsageError("give --health-request and --health-expect together: the request, and the reply the new version must give");
  const health = o.healthRequest !== undefined ? { request: o.healthRequest, expect: o.healthExpect! } : undefined;
  return withClient(o, async (c) => {
    const stop = progress(`swapping ${tenant}/${service} (validate, compile, meter, switch)`);
    try {
      const r = await c.swap({
        tenant, service, source, language, file: basename(file),
        ...(caps && { capabilities: caps }), ...(rollbackWindowMs !== undefined && { rollbackWindowMs }), ...(maxFailureRate !== undefined && { maxFailureRate }), ...(health && { health }),
      });
      stop();
      if (o.json) printJson(r);
      else process.stdout.write(swapLines("swapped", r));
      return EXIT.ok;
    } finally {
      stop();
    }
  });
}

export async function rollback(tenant: string, service: string, version: string | undefined, o: ConnectOptions): Promise<number> {
  if (version !== undefined && (!/^\d+$/.test(version) || Number(version) < 1 || !Number.isSafeInteger(Number(version)))) throw new UsageError(`VERSION must be a positive whole number (see solo versions); got ${JSON.stringify(version)}`);
  return withClient(o, async (c) => {
    const r = await c.rollback(tenant, service, version === undefined ? undefined : Number(version));
    if (o.json) printJson(r);
    else process.stdout.write(swapLines("rolled back", r));
    return EXIT.ok;
  });
}

function versionLine(v: VersionInfo): string {
  const state = v.current ? "current" : v.rollbackable ? "can roll back" : "artifact dropped";
  return `${v.current ? "*" : " "} v${v.version}\t${v.via}\t${v.at}\t${v.language}\tartifact ${v.artifact.slice(0, 12)}\tby ${v.actor ?? "-"}\t${state}\n`;
}

export async function versions(tenant: string, service: string, o: ConnectOptions): Promise<number> {
  return withClient(o, async (c) => {
    const vs = await c.versions(tenant, service);
    if (o.json) printJson(vs);
    else for (const v of vs) process.stdout.write(versionLine(v));
    return EXIT.ok;
  });
}

export async function replace(file: string, o: ReplaceOptions): Promise<number> {
  const { source, language } = readSource(file, o.lang);
  const service = o.service ?? serviceName(file);
  const caps = capabilities(o.cap);
  return withClient(o, async (c) => {
    const stop = progress(`replacing ${o.tenant}/${service} (validate, compile, meter)`);
    try {
      const r = await c.replace({ tenant: o.tenant, service, source, language, file: basename(file), ...(caps && { capabilities: caps }) });
      stop();
      if (o.json) printJson(r);
      else process.stdout.write(`replaced ${r.tenant}/${r.service}: version ${r.version} (${r.language}, artifact ${r.artifact.slice(0, 12)}, capabilities ${r.capabilities.join(",") || "none"}); its kv starts empty\n`);
      return EXIT.ok;
    } finally {
      stop();
    }
  });
}
