// Test-only fault injection: the storage worker fails chosen operations as a RocksDB error would.
// A failed write fails its whole group-committed batch; nothing of it is written.

export type FaultOp = "write" | "kv-load" | "records" | "compact";

export interface FaultPlan {
  /** Which operations may fail; default all of them. */
  ops?: FaultOp[];
  /** Fail the next N matching operations, then none. */
  next?: number;
  /** Fail each matching operation with this probability (0..1), drawn from a PRNG seeded by `seed`. */
  rate?: number;
  seed?: number;
}

export class Faults {
  private plan: FaultPlan | null = null;
  private left = 0;
  private state = 0;

  set(plan: FaultPlan | null): void {
    this.plan = plan;
    this.left = plan?.next ?? 0;
    this.state = (plan?.seed ?? 1) >>> 0;
  }

  /** Throws the injected error if this operation is to fail. */
  check(op: FaultOp): void {
    const p = this.plan;
    if (!p || (p.ops && !p.ops.includes(op))) return;
    if (this.left > 0) {
      this.left--;
      throw new Error(`injected fault (${op})`);
    }
    if (p.rate !== undefined && this.random() < p.rate) throw new Error(`injected fault (${op})`);
  }

  // mulberry32: a seeded run fails the same operations every time.
  private random(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}
