// One RocksDB write batch, written and cleared again and again. A new batch per group commit
// grows its buffer to ~1 MB in fresh pages every time, and on this kind of machine (a Firecracker
// VM) the first touch of a page costs ~10 us: ~0.3 page faults per event appended, a third of the
// storage thread's CPU per event. Cleared, a batch keeps its buffer, so the pages stay touched.
//
// It drives the binding's chained batch through the methods abstract-level itself calls
// (_put/_del/_writeSync/_clear), since the public chained batch closes after one write. The write
// is synchronous, as the binding's own batch() is: it blocks this thread (the storage worker's)
// until the batch is durable, which is why the storage has a thread of its own.

export type WriteOp = { type: "put"; key: string; value: string | Uint8Array } | { type: "del"; key: string };

interface BindingBatch {
  _put(key: string, value: string | Uint8Array, options?: object): void;
  _del(key: string, options?: object): void;
  _writeSync(options: { sync: boolean }): void;
  _clear(): void;
}

/** A batch that held more than this is dropped after its write, not kept: one burst does not pin its peak. */
const KEEP_BYTES = 8 << 20;

export class ReusedBatch {
  private batch: BindingBatch;

  /** db: the @nxtedition/rocksdb instance (its _chainedBatch makes the binding's batch). */
  constructor(private readonly db: unknown) {
    this.batch = this.make();
  }

  /**
   * Writes `ops` as one atomic batch, synced to disk before it returns; throws what RocksDB
   * reports. `beforeWrite` runs with every op in the batch, just before the write (fault injection
   * strikes there, as a failing fsync would): if it throws, nothing is written.
   */
  write(ops: readonly WriteOp[], beforeWrite?: () => void): void {
    // Closing the database closes its batches too; say so plainly rather than through an assertion.
    if ((this.db as { status?: string }).status !== "open") throw new Error("the database is closed");
    const b = this.batch;
    let bytes = 0;
    try {
      for (const op of ops) {
        if (op.type === "put") {
          b._put(op.key, op.value);
          bytes += op.key.length + (typeof op.value === "string" ? op.value.length : op.value.byteLength);
        } else b._del(op.key);
      }
      beforeWrite?.();
      b._writeSync({ sync: true });
    } finally {
      try {
        b._clear();
      } catch {
        // A batch that cannot be cleared is not reused (the error that matters was thrown above).
        bytes = Infinity;
      }
      if (bytes > KEEP_BYTES) this.batch = this.make();
    }
  }

  private make(): BindingBatch {
    const make = (this.db as { _chainedBatch?: () => BindingBatch })._chainedBatch;
    if (typeof make !== "function") throw new Error("this RocksDB binding has no chained batch to reuse");
    return make.call(this.db);
  }
}
