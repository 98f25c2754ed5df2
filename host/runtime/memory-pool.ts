// Linear memories made ahead of need, as wasmtime's pooling allocator keeps slots: a component
// whose modules import their memory (wasm/import-memory.ts) is handed one of the right shape whose
// pages are already touched and all zero. On a Firecracker VM the first touch of a page is
// expensive: V8 writing a QuickJS guest's ~200 KB snapshot into a fresh 22-page memory costs
// ~1 ms, into a touched one a few microseconds.
//
// Where memories come from: made and touched off the hot path (one per setImmediate turn, so calls
// queued meanwhile go first), and given back by dropped instances (evicted, trapped, swapped out,
// killed) when they never grew: a grown memory cannot shrink back to the size a new instance must
// see. A given-back memory is zeroed (fill: ~12 us for 1.4 MB) before it is handed out again, so no
// tenant ever sees another's bytes. What it costs: up to PER_SHAPE memories of each shape in use
// and MAX_BYTES in all per worker (the echo guest's shape: 4 x 1.4 MB), resident.
import { PAGE } from "../wasm/meter.ts";
import type { MemoryShape } from "../wasm/import-memory.ts";

/** Memories kept per shape: enough for a burst of re-creations between two idle turns. */
const PER_SHAPE = 4;
/** Bytes kept in all, per worker. */
const MAX_BYTES = 32 << 20;

interface Shelf {
  shape: MemoryShape;
  /** Zeroed, touched, never handed out since. */
  clean: WebAssembly.Memory[];
  /** Given back by a dropped instance: zeroed before they are handed out. */
  dirty: WebAssembly.Memory[];
  /** Handed out since the last refill: the shape is in use, so it is refilled. */
  wanted: boolean;
}

export interface MemoryPoolStats {
  /** Memories handed out that were made ahead or given back. */
  reused: number;
  /** Memories made on the spot (the pool had none of that shape). */
  fresh: number;
  /** Memories kept now. */
  kept: number;
  keptBytes: number;
}

export class MemoryPool {
  private readonly shelves = new Map<string, Shelf>();
  private keptBytes = 0;
  private scheduled = false;
  private reused = 0;
  private fresh = 0;

  /** perShape 0 keeps nothing: every memory is made on the spot (what a fresh instance had). */
  constructor(private readonly perShape = PER_SHAPE, private readonly maxBytes = MAX_BYTES) {}

  /** A memory of `shape`, all zero, its pages touched when the pool had one. */
  take(shape: MemoryShape): WebAssembly.Memory {
    const shelf = this.shelf(shape);
    shelf.wanted = true;
    this.schedule();
    let m = shelf.clean.pop();
    if (!m) {
      m = shelf.dirty.pop();
      if (m) new Uint8Array(m.buffer).fill(0);
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
   * A memory its instance will never use again. Kept (to be zeroed before reuse) only when it is
   * still its shape's initial size and there is room; else left to the garbage collector.
   */
  give(memory: WebAssembly.Memory, shape: MemoryShape): void {
    const bytes = memory.buffer.byteLength;
    if (bytes !== shape.initial * PAGE) return;
    const shelf = this.shelf(shape);
    if (shelf.clean.length + shelf.dirty.length >= this.perShape || this.keptBytes + bytes > this.maxBytes) return;
    shelf.dirty.push(memory);
    this.keptBytes += bytes;
    this.schedule();
  }

  stats(): MemoryPoolStats {
    let kept = 0;
    for (const s of this.shelves.values()) kept += s.clean.length + s.dirty.length;
    return { reused: this.reused, fresh: this.fresh, kept, keptBytes: this.keptBytes };
  }

  /**
   * One step of upkeep: zero one given-back memory, or make one for a shape in use. True while
   * there is more to do. Runs by itself after take / give; exported for tests and benches.
   */
  tidy(): boolean {
    for (const s of this.shelves.values()) {
      const m = s.dirty.pop();
      if (m) {
        new Uint8Array(m.buffer).fill(0);
        s.clean.push(m);
        return true;
      }
    }
    for (const s of this.shelves.values()) {
      if (!s.wanted) continue;
      const bytes = s.shape.initial * PAGE;
      if (s.clean.length >= this.perShape || this.keptBytes + bytes > this.maxBytes) {
        s.wanted = false;
        continue;
      }
      const m = make(s.shape);
      // Writing every page makes the kernel back it now, not when the guest's data lands.
      new Uint8Array(m.buffer).fill(0);
      s.clean.push(m);
      this.keptBytes += bytes;
      return true;
    }
    return false;
  }

  private shelf(shape: MemoryShape): Shelf {
    const key = shape.maximum === undefined ? `${shape.initial}` : `${shape.initial}-${shape.maximum}`;
    let s = this.shelves.get(key);
    if (!s) this.shelves.set(key, (s = { shape, clean: [], dirty: [], wanted: false }));
    return s;
  }

  private schedule(): void {
    if (this.scheduled || this.perShape === 0) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    if (this.tidy()) this.schedule();
  }
}

function make(shape: MemoryShape): WebAssembly.Memory {
  return new WebAssembly.Memory(shape.maximum === undefined ? { initial: shape.initial } : { initial: shape.initial, maximum: shape.maximum });
}

/** The worker's pool (one per thread: each worker loads its own copy of this module). */
export const memoryPool = new MemoryPool();
