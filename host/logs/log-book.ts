// Guest log lines kept in memory: the last lines of each service (a ring), and live readers.
// Nothing is written to disk: a restart forgets them (the event log is the durable record).
//
// Bounds: per service at most RING_LINES (200) lines and RING_BYTES (64 Ki characters) of message
// text, the oldest going first; a message longer than MAX_MESSAGE_BYTES (8 Ki characters) is cut. A live reader holds at most
// QUEUE_LINES lines it has not read yet; past that the oldest are dropped and the reader gets one
// line saying how many (`dropped`), so a slow reader never grows the host's memory.
// Cost per line: one object (the ring's entry, shared by every reader and the host's onLog); with
// no reader, a Map lookup and a ring write. Readers are kept per tenant, so a line costs nothing
// for another tenant's readers.
import { SoloError } from "../errors.ts";
import type { LogLevel } from "../wasm/index.ts";

export interface LogLine {
  tenant: string;
  service: string;
  level: LogLevel;
  message: string;
  /** When the host received it: ISO time. */
  at: string;
  /** Only on the line telling a slow reader how many lines it lost (level "warn"). */
  dropped?: number;
}

export interface LogsOptions {
  /** Keep the stream open for lines logged later. */
  follow?: boolean;
  /** How many kept lines to send first (default: all kept, at most RING_LINES). 0: none. */
  tail?: number;
  /** Only these services (a token narrowed to services); undefined: every service of the tenant. */
  services?: ReadonlySet<string>;
}

/** A reader's lines: iterate once; close() ends it; abort(err) ends it with err. */
export interface LogFeed extends AsyncIterable<LogLine> {
  close(): void;
  abort(err: SoloError): void;
}

export const RING_LINES = 200;
export const RING_BYTES = 64 * 1024;
export const MAX_MESSAGE_BYTES = 8 * 1024;
export const QUEUE_LINES = 1_000;

/** A kept line: `at` stays a number until a reader asks (no Date per line). */
interface Entry {
  tenant: string;
  service: string;
  level: LogLevel;
  message: string;
  atMs: number;
  seq: number;
}

class Ring {
  readonly lines: (Entry | undefined)[] = new Array(RING_LINES);
  start = 0;
  size = 0;
  bytes = 0;

  push(e: Entry): void {
    while (this.size > 0 && (this.size === RING_LINES || this.bytes + e.message.length > RING_BYTES)) this.dropOldest();
    this.lines[(this.start + this.size) % RING_LINES] = e;
    this.size++;
    this.bytes += e.message.length;
  }

  private dropOldest(): void {
    const e = this.lines[this.start]!;
    this.lines[this.start] = undefined;
    this.start = (this.start + 1) % RING_LINES;
    this.size--;
    this.bytes -= e.message.length;
  }

  /** The last n lines, oldest first. */
  last(n: number): Entry[] {
    const out: Entry[] = [];
    for (let i = Math.max(0, this.size - n); i < this.size; i++) out.push(this.lines[(this.start + i) % RING_LINES]!);
    return out;
  }
}

function toLine(e: Entry): LogLine {
  return { tenant: e.tenant, service: e.service, level: e.level, message: e.message, at: new Date(e.atMs).toISOString() };
}

class Reader implements LogFeed {
  /** Kept lines first (already LogLines), then live entries in a ring of QUEUE_LINES. */
  private first: LogLine[];
  private queue: (Entry | undefined)[] | undefined;
  private head = 0;
  private size = 0;
  private dropped = 0;
  private done = false;
  private error: SoloError | undefined;
  private wake: (() => void) | undefined;

  constructor(
    readonly tenant: string,
    readonly services: ReadonlySet<string> | undefined,
    private readonly onClose: (r: Reader) => void,
    first: LogLine[],
    private readonly follow: boolean,
  ) {
    this.first = first;
    if (!follow) this.done = true;
  }

  /** A live line: queued as the shared entry (made a LogLine only when read); the oldest goes when full. */
  offer(e: Entry): void {
    if (this.done || (this.services && !this.services.has(e.service))) return;
    const q = (this.queue ??= new Array(QUEUE_LINES));
    if (this.size === QUEUE_LINES) {
      this.head = (this.head + 1) % QUEUE_LINES;
      this.size--;
      this.dropped++;
    }
    q[(this.head + this.size) % QUEUE_LINES] = e;
    this.size++;
    this.wake?.();
  }

  private shift(): LogLine | undefined {
    if (this.first.length) return this.first.shift();
    if (this.size === 0) return undefined;
    const e = this.queue![this.head]!;
    this.queue![this.head] = undefined;
    this.head = (this.head + 1) % QUEUE_LINES;
    this.size--;
    return toLine(e);
  }

  close(): void {
    if (this.follow && !this.done) this.onClose(this);
    this.done = true;
    this.first = [];
    this.queue = undefined;
    this.size = 0;
    this.wake?.();
  }

  /** No more live lines; what is queued is still read. */
  end(): void {
    this.done = true;
    this.wake?.();
  }

  abort(err: SoloError): void {
    this.error ??= err;
    this.close();
  }

  async next(): Promise<IteratorResult<LogLine>> {
    for (;;) {
      if (this.dropped > 0) {
        const n = this.dropped;
        this.dropped = 0;
        const next = this.size ? this.queue![this.head] : undefined;
        return { done: false, value: { tenant: this.tenant, service: next?.service ?? "", level: "warn", message: `${n} log lines dropped: this reader fell ${QUEUE_LINES} lines behind`, at: new Date().toISOString(), dropped: n } };
      }
      const line = this.shift();
      if (line) return { done: false, value: line };
      if (this.error) {
        const err = this.error;
        this.error = undefined;
        throw err;
      }
      if (this.done) return { done: true, value: undefined };
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<LogLine> {
    return { next: () => this.next(), return: async () => (this.close(), { done: true, value: undefined }) };
  }
}

export class LogBook {
  /** tenant → service → its ring. */
  private readonly rings = new Map<string, Map<string, Ring>>();
  /** tenant → its live readers. */
  private readonly readers = new Map<string, Set<Reader>>();
  private seq = 0;

  /** Keeps a guest's line and hands it to the tenant's live readers. */
  add(tenant: string, service: string, level: LogLevel, message: string): void {
    if (message.length > MAX_MESSAGE_BYTES) message = message.slice(0, MAX_MESSAGE_BYTES) + "…";
    const e: Entry = { tenant, service, level, message, atMs: Date.now(), seq: this.seq++ };
    let services = this.rings.get(tenant);
    if (!services) this.rings.set(tenant, (services = new Map()));
    let ring = services.get(service);
    if (!ring) services.set(service, (ring = new Ring()));
    ring.push(e);
    const rs = this.readers.get(tenant);
    if (rs) for (const r of rs) r.offer(e);
  }

  /** Forgets a service's kept lines (it was killed); live readers keep reading. */
  forget(tenant: string, service: string): void {
    this.rings.get(tenant)?.delete(service);
  }

  /** The last `tail` kept lines of the tenant (one service, or the given ones), then live ones while `follow`. */
  open(tenant: string, service: string | undefined, o: LogsOptions = {}): LogFeed {
    const tail = o.tail ?? RING_LINES;
    if (!Number.isInteger(tail) || tail < 0) throw new SoloError("INVALID_ARGUMENT", `tail must be a whole number of lines from 0 (got ${tail}); the host keeps at most ${RING_LINES} per service`, { field: "tail" });
    const only = service !== undefined ? new Set([service]) : o.services;
    const kept: Entry[] = [];
    const services = this.rings.get(tenant);
    if (services && tail > 0) for (const [name, ring] of services) if (!only || only.has(name)) kept.push(...ring.last(tail));
    kept.sort((a, b) => a.seq - b.seq);
    const first = kept.slice(Math.max(0, kept.length - tail)).map(toLine);
    const reader = new Reader(tenant, only, (r) => {
      const rs = this.readers.get(tenant);
      if (rs?.delete(r) && rs.size === 0) this.readers.delete(tenant);
    }, first, o.follow === true);
    if (o.follow) {
      let rs = this.readers.get(tenant);
      if (!rs) this.readers.set(tenant, (rs = new Set()));
      rs.add(reader);
    }
    return reader;
  }

  /** Ends every live reader (the host closes): each gets the lines it has, then the end. */
  closeAll(): void {
    for (const rs of [...this.readers.values()]) for (const r of [...rs]) r.end();
    this.readers.clear();
  }

  /** Live readers now (for tests and metrics). */
  readerCount(): number {
    let n = 0;
    for (const rs of this.readers.values()) n += rs.size;
    return n;
  }
}
