// The calls a worker has in flight, by id: an open-addressed array (linear probing, deletion by
// backward shift) instead of a Map.
//
// Why not a Map: a Map whose entries come and go is rebuilt every few hundred insertions (deleted
// entries take room until then), and V8 links each replaced table to its successor. Once one table
// has been promoted to the old generation (it lived through two young collections, as a quiet
// spell allows), that dead table keeps its successor alive through every young collection, and
// the successor its own: every call of a busy spell, with its promise, closures and strings, is
// then copied and promoted. It was bistable: at 256 calls in flight the API thread's young
// collections took ~5 ms instead of ~1 ms (2 MB surviving each instead of 0.5 MB) and p99 went
// from ~2 ms to 7-30 ms, until the process ended. An array does not link its replacements, and
// this one is replaced only when it grows or shrinks by half.
//
// Ids are handed out in sequence, so the calls in flight sit in consecutive slots and a probe
// rarely goes past the first.

import { SoloError } from "../errors.ts";

/** What the table holds: anything with a numeric id. */
export interface WithId {
  readonly id: number;
}

const MIN_CAPACITY = 64;
/**
 * A table this small (8 KB) is never shrunk: under load the calls in flight swing from a few
 * hundred to a handful as answers come back in batches, and halving at each ebb only to double
 * again at the next flow cost ~25 bytes of garbage per call (256 in flight, two workers).
 */
const KEPT_CAPACITY = 1024;
const byId = (a: WithId, b: WithId) => a.id - b.id;

export class CallTable<T extends WithId> {
  private slots: (T | undefined)[] = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
  private mask = MIN_CAPACITY - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Slots in the table now (a power of two): what it holds on to. */
  get capacity(): number {
    return this.slots.length;
  }

  get(id: number): T | undefined {
    const slots = this.slots;
    for (let i = id & this.mask; ; i = (i + 1) & this.mask) {
      const c = slots[i];
      if (c === undefined || c.id === id) return c;
    }
  }

  /** Adds `call` (its id must not be in the table). */
  add(call: T): void {
    if ((this.count + 1) * 2 > this.slots.length) this.resize(this.slots.length * 2);
    this.place(call);
    this.count++;
  }

  /** Removes the call with `id`; false if there was none. */
  delete(id: number): boolean {
    const slots = this.slots;
    const mask = this.mask;
    let i = id & mask;
    for (;;) {
      const c = slots[i];
      if (c === undefined) return false;
      if (c.id === id) break;
      i = (i + 1) & mask;
    }
    // Backward shift: later entries of the run move into the hole when their home allows it, so
    // no tombstones build up and a lookup still stops at the first empty slot.
    let hole = i;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const c = slots[j];
      if (c === undefined) break;
      const home = c.id & mask;
      // c may move to the hole unless its home lies (cyclically) after the hole, up to j.
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        slots[hole] = c;
        hole = j;
      }
    }
    slots[hole] = undefined;
    this.count--;
    if (this.slots.length > KEPT_CAPACITY && this.count * 8 < this.slots.length) this.resize(this.slots.length / 2);
    return true;
  }

  /**
   * Every call, oldest first (a copy: the table may change meanwhile). Ids are handed out in
   * order, so that is id order; a replaced worker gets its calls again in it, and runs each
   * tenant's calls first in, first out. Slot order is not it: ids wrap past the table's end.
   */
  values(): T[] {
    const out: T[] = [];
    for (const c of this.slots) if (c !== undefined) out.push(c);
    return out.sort(byId);
  }

  clear(): void {
    this.slots = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
    this.mask = MIN_CAPACITY - 1;
    this.count = 0;
  }

  private place(call: T): void {
    const slots = this.slots;
    let i = call.id & this.mask;
    for (let c = slots[i]; c !== undefined; c = slots[i]) {
      if (c.id === call.id) throw new SoloError("INTERNAL", `call table: id ${call.id} is in the table already`);
      i = (i + 1) & this.mask;
    }
    slots[i] = call;
  }

  private resize(capacity: number): void {
    const old = this.slots;
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    for (const c of old) if (c !== undefined) this.place(c);
  }
}
