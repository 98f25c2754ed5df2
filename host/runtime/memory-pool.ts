// Linear memories made ahead of need, as wasmtime's pooling allocator keeps slots: a component
// whose modules import their memory (wasm/import-memory.ts) is handed one of the right shape, all
// zero, whose pages its data segments land on are already touched. On a Firecracker VM the first
// touch of a page is expensive: V8 writing a QuickJS guest's ~200 KB snapshot into a fresh 22-page
// memory costs ~1 ms, into touched pages a few microseconds.
//
// Only the data segments' pages are touched ahead (the pages instantiation writes anyway), so an
// instance is as resident as one with a memory of its own: touching all 22 pages would make each
// live QuickJS instance ~1.7 MiB of RSS instead of ~0.65 (measured), against the goal of live
// instances per GB. For the same reason a memory given back by a dropped instance is reused only
// when zeroing all of it adds little residency (recycleSlackBytes: the adapters' empty memories,
// say); zeroing a 22-page one would fault in every page its last tenant never touched.
//
// Except under churn: an instance dropped to make room under the live cap gives its memory back
// `whole`, kept even though zeroing it makes all of it resident, because the instance that needs
// the room usually takes it at once. Re-creating a QuickJS instance back to back then costs a
// memset of resident pages instead of ~150 first touches (bench/idle.ts, back to back: ~3 -> ~1.9
// ms). The price: an instance made on such a memory stays resident at the memory's full initial
// size (1.4 MiB for QuickJS instead of ~0.65) until it is dropped in turn, so after churn up to
// maxLiveInstances instances may be; their tenants are charged that size anyway, and the cap
// bounds them. The pool itself keeps at most one whole memory per shape (a memory of another shape
// than the next instance's waits) and drops it, rather than zeroing it, once the worker is quiet.
//
// Memories are made one at a time, only once the worker has been quiet for QUIET_MS (2 ms: no message
// in, no results out: busy()), so upkeep never runs between a re-creating call and the call right
// behind it; a message arriving meanwhile waits for one memory at most (~0.3-1 ms of page faults).
// A worker never quiet that long makes each memory on the spot, as before the pool. What it
// costs: up to perShape memories of each shape in use and maxBytes in all per worker, resident
// only where touched (the echo guest's shape: 4 x ~0.4 MB).
import { PAGE } from "../wasm/meter.ts";
import type { MemoryShape } from "../wasm/import-memory.ts";

export interface MemoryPoolOptions {
  /** Memories kept per shape: enough for a burst of re-creations between two idle turns (0: keep none, make each on the spot). */
  perShape?: number;
  /** Bytes kept in all (initial sizes), per worker. */
  maxBytes?: number;
  /** A dropped instance's memory is reused when its initial size is at most this past what its data segments touch anyway. */
  recycleSlackBytes?: number;
}

const DEFAULTS: Required<MemoryPoolOptions> = { perShape: 4, maxBytes: 32 << 20, recycleSlackBytes: PAGE };
/** How long the worker must have been quiet before the pool does upkeep. */
const QUIET_MS = 2;

interface Shelf {
  shape: MemoryShape;
  /** Zero, the data pages touched, never handed out since. */
  clean: WebAssembly.Memory[];
  /** Given back by a dropped instance: zeroed before they are handed out. */
  dirty: WebAssembly.Memory[];
  /** Given back whole (see give): dropped, not zeroed, when the worker is quiet. */
  whole: Set<WebAssembly.Memory>;
  /** Handed out or expected since the last refill: the shape is in use, so it is refilled. */
  wanted: boolean;
}

export interface MemoryPoolStats {
  /** Memories handed out that were made ahead or given back. */
  reused: number;
  /** Memories made on the spot (the pool had none of that shape). */
  fresh: number;
  /** Memories kept now, and their initial bytes. */
  kept: number;
  keptBytes: number;
}

export class MemoryPool {
  private readonly options: Required<MemoryPoolOptions>;
  private readonly shelves = new Map<string, Shelf>();
  private keptBytes = 0;
  private scheduled = false;
  private lastBusy = 0;
  private reused = 0;
  private fresh = 0;

  constructor(options: MemoryPoolOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** A memory of `shape`, all zero; its data pages already touched when the pool had one. */
  take(shape: MemoryShape): WebAssembly.Memory {
    const shelf = this.shelf(shape);
    shelf.wanted = true;
    this.schedule();
    let m = shelf.clean.pop();
    if (!m) {
      m = shelf.dirty.pop();
      if (m) {
        shelf.whole.delete(m);
        new Uint8Array(m.buffer).fill(0);
      }
    }
    if (m) {
      this.keptBytes -= m.buffer.byteLength;
      this.reused++;
      return m;
    }
    this.fresh++;
    return make(shape);
  }

  /** A shape a service here will need (at its install): made ahead, before its first instance. */
  expect(shape: MemoryShape): void {
    const shelf = this.shelf(shape);
    if (shelf.wanted || shelf.clean.length + shelf.dirty.length > 0) return;
    shelf.wanted = true;
    this.schedule();
  }

  /**
   * A memory its instance will never use again. Kept (zeroed before reuse) only when it is still
   * its shape's initial size, zeroing it adds little residency (recycleSlackBytes) or it comes
   * `whole` (its instance made room under the live cap: the next instance takes it at once), and
   * there is room; else left to the garbage collector.
   */
  give(memory: WebAssembly.Memory, shape: MemoryShape, whole = false): void {
    const bytes = memory.buffer.byteLength;
    if (bytes !== shape.initial * PAGE) return;
    const lean = bytes - touched(shape) <= this.options.recycleSlackBytes;
    if (!lean && !whole) return;
    const shelf = this.shelf(shape);
    if (!lean && shelf.whole.size > 0) return;
    if (shelf.clean.length + shelf.dirty.length >= this.options.perShape || this.keptBytes + bytes > this.options.maxBytes) return;
    shelf.dirty.push(memory);
    if (!lean) shelf.whole.add(memory);
    this.keptBytes += bytes;
    this.schedule();
  }

  /** The worker has work (a message in, results out): upkeep waits until it has been quiet QUIET_MS. */
  busy(): void {
    this.lastBusy = performance.now();
  }

  stats(): MemoryPoolStats {
    let kept = 0;
    for (const s of this.shelves.values()) kept += s.clean.length + s.dirty.length;
    return { reused: this.reused, fresh: this.fresh, kept, keptBytes: this.keptBytes };
  }

  /**
   * One step of upkeep: zero one given-back memory, or make one for a shape in use. True while
   * there is more to do. Runs by itself after take / give / expect; public for tests and benches.
   */
  tidy(): boolean {
    for (const s of this.shelves.values()) {
      const m = s.dirty.pop();
      if (m) {
        if (s.whole.delete(m)) this.keptBytes -= m.buffer.byteLength;
        else {
          new Uint8Array(m.buffer).fill(0);
          s.clean.push(m);
        }
        return true;
      }
    }
    for (const s of this.shelves.values()) {
      if (!s.wanted) continue;
      const bytes = s.shape.initial * PAGE;
      if (s.clean.length >= this.options.perShape || this.keptBytes + bytes > this.options.maxBytes) {
        s.wanted = false;
        continue;
      }
      s.clean.push(make(s.shape, true));
      this.keptBytes += bytes;
      return true;
    }
    return false;
  }

  private shelf(shape: MemoryShape): Shelf {
    const key = `${shape.initial}/${shape.maximum ?? ""}/${shape.data?.map((r) => r.join("-")).join(",") ?? ""}`;
    let s = this.shelves.get(key);
    if (!s) this.shelves.set(key, (s = { shape, clean: [], dirty: [], whole: new Set(), wanted: false }));
    return s;
  }

  private schedule(delayMs = QUIET_MS): void {
    if (this.scheduled || this.options.perShape === 0) return;
    this.scheduled = true;
    // unref: spare memories never keep a thread alive.
    setTimeout(() => this.turn(), delayMs).unref();
  }

  private turn(): void {
    this.scheduled = false;
    const wait = this.lastBusy + QUIET_MS - performance.now();
    if (wait > 0) return this.schedule(wait);
    let more: boolean;
    try {
      more = this.tidy();
    } catch {
      // Upkeep is best effort and runs outside any call: a shape it cannot make (bad plan data)
      // is dropped rather than taking the worker down; take() reports it to the instance instead.
      this.shelves.clear();
      this.keptBytes = 0;
      return;
    }
    if (more) this.schedule(0);
  }
}

/** The data pages' runs, within the memory's initial size (a plan is data read from disk: anything else is ignored). */
function dataPages(shape: MemoryShape): [number, number][] {
  const end = shape.initial * PAGE;
  const out: [number, number][] = [];
  if (!Array.isArray(shape.data)) return out;
  for (const run of shape.data as unknown[]) {
    if (!Array.isArray(run) || typeof run[0] !== "number" || typeof run[1] !== "number") continue;
    const from = Math.max(0, run[0]);
    const to = Math.min(run[1], end);
    if (to > from) out.push([from, to]);
  }
  return out;
}

function touched(shape: MemoryShape): number {
  let n = 0;
  for (const [from, to] of dataPages(shape)) n += to - from;
  return n;
}

/** A new memory; `touch`: its data pages written now (zeros), so the kernel backs them before the guest's data lands. */
function make(shape: MemoryShape, touch = false): WebAssembly.Memory {
  const m = new WebAssembly.Memory(shape.maximum === undefined ? { initial: shape.initial } : { initial: shape.initial, maximum: shape.maximum });
  if (touch) for (const [from, to] of dataPages(shape)) new Uint8Array(m.buffer, from, to - from).fill(0);
  return m;
}

/** The worker's pool (one per thread: each worker loads its own copy of this module). */
export const memoryPool = new MemoryPool();
