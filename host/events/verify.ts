// Verifying the chain: every stored batch, in id order, must link to the one before it, hold ids
// in increasing order and hash to what it stored; the walk must end at the recorded head.
import { hashAt, hashOf, idOf, linkOf } from "./chain.ts";

export interface VerifyReport {
  ok: boolean;
  /** Events whose links were checked. */
  checked: number;
  /** The first event whose link is broken, and why. */
  brokenAt?: string;
  reason?: string;
}

export interface StoredBatch {
  firstId: string;
  /** Its events' bodies joined by "\n". */
  events: string;
  /** Its hash list ("" if missing). */
  hashes: string;
}

/**
 * Walks `batches` from `start` (the checkpoint's link, or genesis) up to the head as it was when
 * verification began; batches past `head.lastId` were appended meanwhile and are not checked.
 */
export async function verifyChain(batches: AsyncIterable<StoredBatch>, start: string, head: { lastId: string | null; lastHash: string | null }): Promise<VerifyReport> {
  let prev = start;
  let checked = 0;
  let lastId = "";
  for await (const { firstId, events, hashes } of batches) {
    if (head.lastId === null || firstId > head.lastId) break;
    if (linkOf(hashes) !== prev) return { ok: false, checked, brokenAt: firstId, reason: "the event does not link to the one before it (an event was removed or replaced)" };
    const bodies = events.split("\n");
    for (let i = 0; i < bodies.length; i++) {
      const body = bodies[i]!;
      const id = idOf(body);
      if (id <= lastId) return { ok: false, checked, brokenAt: id, reason: "ids are out of order" };
      const h = hashOf(prev, body);
      if (h !== hashAt(hashes, i)) return { ok: false, checked, brokenAt: id, reason: "the event's contents do not match its hash (it was edited)" };
      prev = h;
      lastId = id;
      checked++;
    }
  }
  if (head.lastHash && prev !== head.lastHash) return { ok: false, checked, brokenAt: head.lastId ?? undefined, reason: "the newest events are missing (the chain ends early)" };
  return { ok: true, checked };
}

/** Where a verification got to: the newest event checked and its hash (the next one links to it). */
export interface VerifiedPoint {
  id: string;
  hash: string;
}

/** An incremental verification: the report, and the point to start the next one from (when ok). */
export interface IncrementalReport extends VerifyReport {
  /** Whether it walked the whole log (no point given, or the point was compacted away). */
  full: boolean;
  /** The head it verified up to; undefined for an empty log or a broken chain. */
  to?: VerifiedPoint;
}
