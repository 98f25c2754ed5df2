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

export class ReusedBatch {
  private readonly batch: BindingBatch;

  /** db: the @nxtedition/rocksdb instance (its _chainedBatch makes the binding's batch). */
  constructor(db: unknown) {
    const make = (db as { _chainedBatch?: () => BindingBatch })._chainedBatch;
    if (typeof make !== "function") throw new Error("this RocksDB binding has no chained batch to reuse");
    this.batch = make.call(db);
  }

  /** Writes `ops` as one atomic batch, synced to disk before it returns; throws what RocksDB reports. */
  write(ops: readonly WriteOp[]): void {
    const b = this.batch;
    try {
      for (const op of ops) {
        if (op.type === "put") b._put(op.key, op.value);
        else b._del(op.key);
      }
      b._writeSync({ sync: true });
    } finally {
      b._clear();
    }
  }
}
