// Retention: which whole batches to remove. The newest batch always stays, so the head of the
// chain stays on disk; the first kept batch's link becomes the checkpoint verify starts from.

export interface BatchSummary {
  first: string;
  count: number;
  /** The time of its newest event. */
  lastTime: string;
}

export function summarize(firstId: string, events: string): BatchSummary {
  const lines = events.split("\n");
  const last = JSON.parse(lines[lines.length - 1]!) as { time: unknown };
  return { first: firstId, count: lines.length, lastTime: String(last.time) };
}

/** How many of the oldest batches to remove: those older than beforeTime, or over keepLast events. */
export function batchesToDrop(batches: BatchSummary[], beforeTime: string | undefined, keepLast: number | undefined): number {
  let total = batches.reduce((n, b) => n + b.count, 0);
  let drop = 0;
  while (drop < batches.length - 1) {
    const b = batches[drop]!;
    const old = beforeTime !== undefined && b.lastTime < beforeTime;
    const over = keepLast !== undefined && total - b.count >= keepLast;
    if (!old && !over) break;
    total -= b.count;
    drop++;
  }
  return drop;
}

/** An index key ("<space><name>:<firstId>") of a batch before the cut. */
export const isStaleIndexKey = (key: string, keptFirst: string): boolean => key.slice(key.lastIndexOf(":") + 1) < keptFirst;
