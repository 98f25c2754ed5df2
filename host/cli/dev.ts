// `solo dev FILE --tenant T [--service S]`: the edit loop against a running server. FILE is
// deployed (or swapped in, when the service exists), then swapped in again on every save that
// changes its content; the service's log lines and events stream to the terminal meanwhile
// (`HH:MM:SS log LEVEL message`, `HH:MM:SS event TYPE ...`). A save that does
// not build prints its errors as FILE:LINE:COLUMN: message and changes nothing on the server.
// Ctrl-C ends it (exit 0) and leaves the service deployed.
import { createHash } from "node:crypto";
import { watch, readFileSync, type FSWatcher } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { encodeTime } from "ulid";
import { toSoloError, type SoloError } from "../errors.ts";
import type { SoloEvent } from "../events/types.ts";
import type { DeployResult, SwapResult } from "../services/service-record.ts";
import type { SoloClient, EventStream, LogStream } from "../client/types.ts";
import { isCoreModule } from "../wasm/binary.ts";
import { EXIT, UsageError, list, printJson } from "./common.ts";
import { connect, type ConnectOptions } from "./connect.ts";
import { languageFlag } from "./local.ts";
import { serviceName } from "./services.ts";

export interface DevOptions extends ConnectOptions {
  tenant: string;
  service?: string;
  lang?: string;
  cap?: string;
}

/**
 * Saves closer together than this make one swap: an editor's save is often several writes
 * (truncate, write, rename), and a swap per write would build half-written files.
 */
export const DEBOUNCE_MS = 100;

/** Failures that are the guest's own (its source, its start code, its health check): dev goes on. */
const GUEST_FAULTS = new Set(["COMPILE_ERROR", "VALIDATION_FAILED", "GUEST_ERROR", "GUEST_TRAP", "FUEL_EXHAUSTED", "MEMORY_LIMIT", "DEADLINE_EXCEEDED"]);

interface Source {
  source: string | Uint8Array;
  language: string;
  hash: string;
}

/** HH:MM:SS, local time. */
function clock(at: number | string = Date.now()): string {
  return new Date(at).toTimeString().slice(0, 8);
}

/**
 * An event's data in one readable line: scalars as k=v (a hash cut to 12 characters), lists of
 * scalars comma-separated, small objects as JSON, big ones as {...} (--json has them whole).
 */
function summary(data: Record<string, unknown> | undefined): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(data ?? {})) {
    if (v === undefined) continue;
    let text: string;
    if (typeof v === "string") text = /^[0-9a-f]{64}$/.test(v) ? v.slice(0, 12) : /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
    else if (Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null)) text = v.join(",");
    else {
      text = JSON.stringify(v);
      if (typeof v === "object" && v !== null && text.length > 80) text = "{...}";
    }
    parts.push(`${k}=${text.length > 160 ? text.slice(0, 157) + "..." : text}`);
  }
  return parts.length ? " " + parts.join(" ") : "";
}

/** The lines a failed build or swap prints: each diagnostic or finding on its own FILE:LINE:COLUMN line. */
function problemLines(e: SoloError, file: string): string[] {
  const sent = basename(file);
  const where = (f: string | undefined) => (f === undefined || f === sent ? file : f);
  const out: string[] = [];
  const diagnostics = e.details?.diagnostics;
  if (Array.isArray(diagnostics)) for (const d of diagnostics as { file?: string; line: number; column: number; message: string }[]) out.push(`${where(d.file)}:${d.line}:${d.column}: ${d.message}`);
  const findings = e.details?.findings;
  if (Array.isArray(findings)) for (const f of findings as { severity: string; rule: string; line: number; column: number; message: string }[]) if (f.severity === "error") out.push(`${file}:${f.line}:${f.column}: ${f.rule}: ${f.message}`);
  return out;
}

export async function dev(file: string, o: DevOptions): Promise<number> {
  const service = o.service ?? serviceName(file);
  const caps = list(o.cap);
  if (caps !== undefined && caps.length === 0) throw new UsageError("--cap needs at least one capability; leave it out for the default (log,clock,random,kv) or the running version's");
  languageFlag(o.lang, file);
  const path = resolve(file);
  const read = (): Source | undefined => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      return undefined; // mid-save (renamed away): the next change event reads it
    }
    let language: string = languageFlag(o.lang, file);
    const source = language === "component" || language === "javy" ? new Uint8Array(bytes) : bytes.toString("utf8");
    if (o.lang === undefined && language === "component" && isCoreModule(source as Uint8Array)) language = "javy";
    return { source, language, hash: createHash("sha256").update(source).digest("hex") };
  };
  if (read() === undefined) throw new UsageError(`cannot read ${file}`);

  const json = o.json === true;
  const say = (kind: string, fields: Record<string, unknown>, text: string, toStderr = false) => {
    if (json) printJson({ kind, ...fields });
    else (toStderr ? process.stderr : process.stdout).write(text + "\n");
  };
  const who = `${o.tenant}/${service}`;

  // Events from now on: an id made of the current time sorts before every event written later
  // (the server's clock; on another machine, a skew between the clocks shifts where it starts).
  const since = encodeTime(Date.now(), 10) + "0".repeat(16);
  const client: SoloClient = await connect(o);
  let stopping = false;
  let stream: EventStream | undefined;
  let logStream: LogStream | undefined;
  let watcher: FSWatcher | undefined;
  let timer: NodeJS.Timeout | undefined;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => (finish = r));
  const stop = () => {
    stopping = true;
    finish(EXIT.ok);
  };
  let failure: unknown;
  const finishWith = (err: unknown) => {
    failure = err;
    finish(EXIT.failed);
  };

  let exists: boolean | undefined; // unknown until the first build
  let started = false;
  let lastHash: string | undefined;
  let version: number | undefined;

  /** Builds the file on the server as a deploy or a swap; a failure of the guest's is printed and dev goes on. */
  const update = async (): Promise<void> => {
    const s = read();
    if (s === undefined || s.hash === lastHash) return;
    const first = !started;
    started = true;
    lastHash = s.hash;
    const params = { tenant: o.tenant, service, source: s.source, language: s.language, file: basename(file), ...(caps && { capabilities: caps }) };
    try {
      if (exists === undefined) {
        // At start: the running version, if any. Its source unchanged (and no other --cap/--lang) needs no swap.
        try {
          const current = (await client.versions(o.tenant, service)).find((v) => v.current);
          exists = true;
          if (current && current.sourceHash === s.hash && (o.lang === undefined || current.language === s.language) && (caps === undefined || [...caps].sort().join() === [...current.capabilities].sort().join())) {
            version = current.version;
            say("unchanged", { tenant: o.tenant, service, version }, `${clock()} ${who} version ${version} already runs ${file}`);
            return;
          }
        } catch (err) {
          // NOT_FOUND: deploy. Anything else (a token without read): try the deploy, a taken name swaps.
          if (toSoloError(err).code === "NOT_FOUND") exists = false;
        }
      }
      if (exists !== true) {
        try {
          const r: DeployResult = await client.deploy(params);
          exists = true;
          version = r.version;
          say("deployed", { result: r }, `${clock()} deployed ${who} version ${r.version} (${r.language}, capabilities ${r.capabilities.join(",") || "none"})`);
          return;
        } catch (err) {
          if (toSoloError(err).code !== "ALREADY_EXISTS") throw err;
          exists = true;
        }
      }
      const r: SwapResult = await client.swap(params);
      version = r.version;
      say("swapped", { result: r }, `${clock()} swapped ${who} to version ${r.version} (from ${r.previousVersion}) in ${r.switchMs.toFixed(1)} ms`);
      for (const w of r.warnings ?? []) say("warning", { warning: w }, `${file}:${w.line}:${w.column}: warning ${w.rule}: ${w.message}`, true);
    } catch (err) {
      if (stopping) return;
      const e = toSoloError(err);
      // Setup faults at start (no such tenant, a token that may not deploy) end dev; later, and
      // for the guest's own faults, the user fixes and saves again.
      if (first && !GUEST_FAULTS.has(e.code)) throw e;
      // Not the guest's fault (the server away, another swap under way): the same content may
      // be tried again by saving it again.
      if (!GUEST_FAULTS.has(e.code)) lastHash = undefined;
      const keeps = version !== undefined ? `version ${version} serves on` : "nothing deployed yet";
      if (json) printJson({ kind: "failed", error: e.toJSON(), ...(version !== undefined && { version }) });
      else {
        const lines = problemLines(e, file);
        for (const l of lines) process.stderr.write(l + "\n");
        process.stderr.write(`${clock()} ${e.code}: ${lines.length ? "not deployed" : e.message}; ${keeps}\n`);
      }
    }
  };

  // One build at a time; saves during a build make one more build after it (of the newest content).
  let running: Promise<void> | undefined;
  let again = false;
  const kick = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await update();
      } while (again && !stopping);
    })().finally(() => (running = undefined));
    return running;
  };

  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    say("watching", { file: path, tenant: o.tenant, service }, `solo dev: watching ${file} for ${who}; Ctrl-C to stop (the service stays deployed). The service's log lines and events follow.`);

    // The directory, not the file: editors that save by rename replace the file a watch would hold.
    const name = basename(path);
    watcher = watch(dirname(path), (_event, changed) => {
      if (stopping || (changed !== null && changed.toString() !== name)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void kick().catch((err) => finishWith(err)), DEBOUNCE_MS);
    });
    watcher.on("error", finishWith);

    stream = client.events({ tenant: o.tenant, service, follow: true, after: since });
    void (async () => {
      try {
        for await (const e of stream as AsyncIterable<SoloEvent>) {
          if (e.type === "hot_swap_rolled_back" || e.type === "hot_swap_succeeded") {
            const to = e.data?.toVersion;
            if (typeof to === "number") version = to;
          }
          say("event", { event: e }, `${clock(e.time)} event ${e.type}${summary(e.data)}`);
        }
      } catch (err) {
        // Not fatal: builds and swaps go on without events (e.g. a token without read).
        if (!stopping) {
          const e = toSoloError(err);
          say("events-ended", { error: e.toJSON() }, `${clock()} no more events: ${e.code}: ${e.message}`, true);
        }
      }
    })();

    // Log lines from now on (tail 0: not the ones kept from before dev started).
    logStream = client.logs({ tenant: o.tenant, service, follow: true, tail: 0 });
    void (async () => {
      try {
        for await (const l of logStream as LogStream) say("log", { line: l }, `${clock(l.at)} log ${l.level} ${l.message}`);
      } catch (err) {
        // Not fatal, like events: builds and swaps go on without log lines.
        if (!stopping) {
          const e = toSoloError(err);
          say("logs-ended", { error: e.toJSON() }, `${clock()} no more log lines: ${e.code}: ${e.message}`, true);
        }
      }
    })();

    await kick().catch(finishWith);
    const code = await finished;
    if (failure !== undefined) throw failure;
    return code;
  } finally {
    stopping = true;
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    clearTimeout(timer);
    watcher?.close();
    stream?.close();
    logStream?.close();
    await client.close().catch(() => {});
  }
}
