// Which artifacts' start code is known to run. A deploy instantiates its artifact to prove that the
// start code runs within the service's limits (its errors then answer the deploy); once an artifact
// has passed, a later deploy of it under limits at least as large need not instantiate it again:
// the instance is made by the service's first call, as after an eviction (a cached deploy then costs
// its build lookup, the kv read and one durable batch).
//
// What a proof is keyed by: the artifact (same modules, same start code) and the capabilities (a
// start denied an import may behave differently). Start code is deterministic in fuel and memory
// for the same modules and imports' answers, so a start that passed under fuel F and memory M
// passes under anything larger; the deadline is wall time, so it is compared too. A start that was
// denied an import proves nothing (its denials must be recorded at each deploy). Start code that
// reads the clock, random bytes, kv or secrets may still fail later: then its first call answers
// the failure (startFailed, as a crash), not the deploy.
//
// Costs: one small record per (artifact, capability list), in memory; a restart forgets them.
import type { InstanceLimits, LazyStart } from "../runtime/index.ts";

interface Proof {
  fuel: number;
  memoryBytes: number;
  deadlineMs: number;
  /** What the start left in linear memory: the worker checks the tenant's quota against it. */
  startBytes: number;
}

export class StartProofs {
  private readonly proofs = new Map<string, Proof>();
  /** Deploys that made no instance because their artifact was proven. */
  skipped = 0;

  private static key(artifact: string, capabilities: readonly string[]): string {
    return `${artifact}\0${[...capabilities].sort().join(",")}`;
  }

  /** The lazy start a deploy may use, if the artifact's start passed under limits no larger than these. */
  find(artifact: string, capabilities: readonly string[], limits: InstanceLimits): LazyStart | undefined {
    const p = this.proofs.get(StartProofs.key(artifact, capabilities));
    if (!p || limits.fuel < p.fuel || limits.memoryBytes < p.memoryBytes || limits.deadlineMs < p.deadlineMs) return undefined;
    return { memoryBytes: p.startBytes };
  }

  /** The artifact's start ran under `limits` and left `startBytes` of memory; smaller limits that passed are kept. */
  record(artifact: string, capabilities: readonly string[], limits: InstanceLimits, startBytes: number): void {
    const key = StartProofs.key(artifact, capabilities);
    const p = this.proofs.get(key);
    if (!p) this.proofs.set(key, { fuel: limits.fuel, memoryBytes: limits.memoryBytes, deadlineMs: limits.deadlineMs, startBytes });
    else {
      p.fuel = Math.min(p.fuel, limits.fuel);
      p.memoryBytes = Math.min(p.memoryBytes, limits.memoryBytes);
      p.deadlineMs = Math.min(p.deadlineMs, limits.deadlineMs);
      p.startBytes = Math.max(p.startBytes, startBytes);
    }
  }
}
