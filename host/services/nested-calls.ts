// What a call's calls to other services (services.call, runtime/service-calls.ts) leave behind,
// settled on the API thread when the outer call's result arrives: each callee's counters, logs,
// denials and crash event, and its kv writes and emits, committed because the callee's own calls
// succeeded, whatever the outer call did next.
//
// Order: the commits are issued synchronously, before any await, so that a later call's commit
// to the same store (the callee called directly, later in the same batch) cannot land first.
// A callee killed meanwhile keeps nothing (its kv is being deleted); while a commit is under way
// the callee counts it in flight, so a kill waits for it.
import { SoloError, toSoloError, type ErrorCode } from "../errors.ts";
import type { NestedResult } from "../runtime/protocol.ts";
import type { KvStore } from "../storage/index.ts";
import type { Governor } from "../governance/index.ts";
import type { LogLevel } from "../wasm/index.ts";
import type { Accounting } from "./accounting.ts";
import type { Denials } from "./denials.ts";
import type { GuestEvents } from "./guest-events.ts";
import type { Registry } from "./registry.ts";
import type { ServiceRecord } from "./service-record.ts";

export interface NestedParts {
  registry: Registry;
  kv: KvStore;
  governor: Governor;
  accounting: Accounting;
  denials: Denials;
  guestEvents: GuestEvents;
  restoreKv(rec: ServiceRecord): Promise<void>;
  onLog?: (entry: { tenant: string; service: string; level: LogLevel; message: string }) => void;
}

/**
 * Settles every callee: counters at once; a promise of the error the outer call must answer (if a
 * commit failed) only when something must be written (writes, emits, denials, a crash event).
 */
export function settleNested(p: NestedParts, nested: NestedResult[], actor?: string): Promise<SoloError | undefined> | undefined {
  let work: Promise<SoloError | undefined>[] | undefined;
  for (const n of nested) {
    const rec = p.registry.byKey(n.key);
    if (!rec) continue; // killed (or being killed) since: nothing of it is kept
    rec.calls += n.calls;
    for (const [code, count] of Object.entries(n.errors ?? {}) as [ErrorCode, number][]) rec.errors[code] = (rec.errors[code] ?? 0) + count;
    if (n.logs && p.onLog) for (const [level, message] of n.logs) p.onLog({ tenant: rec.tenant, service: rec.service, level, message });
    if (!n.writes && !n.emits && !n.emitsRefused && !n.denied && !n.trap && !n.reloadWanted) continue; // the common case: nothing to write
    rec.inflight++;
    (work ??= []).push(settleOne(p, rec, n, actor).finally(() => {
      if (--rec.inflight === 0 && rec.onIdle) rec.onIdle();
    }));
  }
  return work && Promise.all(work).then((errors) => errors.find((e) => e !== undefined));
}

async function settleOne(p: NestedParts, rec: ServiceRecord, n: NestedResult, actor?: string): Promise<SoloError | undefined> {
  let failure: SoloError | undefined;
  let commit: Promise<void> | undefined;
  // Refused for a reload that has since failed (the disk): another try, so callers through it are
  // not refused until someone calls it directly.
  if (n.reloadWanted && rec.kvUnknown && !rec.restoring) void p.restoreKv(rec).catch(() => {});
  if (n.writes) {
    if (rec.kvUnknown) {
      // Its copy may hold another call's uncommitted writes: nothing of it is committed.
      void p.restoreKv(rec).catch(() => {});
      p.accounting.countError(rec, "UNAVAILABLE");
      failure = new SoloError("UNAVAILABLE", `service ${rec.service}, called by this call, ran while its kv was being restored after a failed commit; its writes were not kept; try again`, { tenant: rec.tenant, service: rec.service });
    } else commit = p.kv.commit(rec.key, n.writes);
  }
  const side: Promise<unknown>[] = [];
  if (n.denied) side.push(p.denials.record(rec.tenant, rec.service, n.denied));
  if (n.trap) side.push(p.accounting.recordCaused(rec, { type: "service_crashed", tenant: rec.tenant, service: rec.service, actor, data: { code: n.trap.code, message: n.trap.message, calledBy: "services.call" } }).catch(() => {}));
  if (n.emitsRefused) side.push(p.guestEvents.refused(rec.tenant, rec.service, n.emitsRefused, actor).catch(() => {}));
  if (commit) {
    try {
      await commit;
      if (n.kvBytes !== undefined) p.governor.kvCommitted(rec.key, n.kvBytes);
    } catch (err) {
      // The worker applied the writes to its copy: reloaded before anything commits on top of it.
      await p.restoreKv(rec).catch(() => {});
      p.accounting.countError(rec, "INTERNAL");
      failure = new SoloError("INTERNAL", `the kv writes of service ${rec.service}, called by this call, could not be committed: ${toSoloError(err).message}`, { tenant: rec.tenant, service: rec.service });
    }
  }
  // Emits go with the callee's writes: recorded only once those are committed.
  if (n.emits && !failure) side.push(p.guestEvents.record(rec.tenant, rec.service, n.emits, actor).catch(() => {}));
  await Promise.all(side);
  return failure;
}
