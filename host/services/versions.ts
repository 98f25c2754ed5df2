// A service's version history: one record per version in RocksDB (r:<tenant>/<service>:<version>),
// written in the same batch as the change that made it current (deploy, swap). A rollback makes an
// older version current again without a new record. Every record is kept until the service is
// killed (a few hundred bytes each); the artifacts of only the newest KEPT_ARTIFACTS versions (and
// of the current one) stay stored, so an old version can be rolled back to while its artifact is.
import { createHash } from "node:crypto";
import type { Language } from "../compile/index.ts";
import type { ServiceLimits } from "./limits.ts";

/** Versions whose artifacts stay stored (besides the current one): what `rollback` can go back to. */
export const KEPT_ARTIFACTS = 5;

export interface VersionRecord {
  version: number;
  /** The component's hash (its bytes are under a:<hash> while kept). */
  artifact: string;
  /** sha256 of the source the agent sent (hex), "" when unknown (a record from before versions). */
  sourceHash: string;
  language: Language;
  kind: string;
  capabilities: string[];
  limits: ServiceLimits;
  /** ISO time it was made. */
  at: string;
  /** Who made it: a token id, or "local". */
  actor?: string;
  /** How it came: the first deploy, or a swap. */
  via: "deploy" | "swap";
  /** The guest's file as its deploy or swap named it; absent in records from before. */
  file?: string;
}

/** What status and versions() say of one version. */
export interface VersionInfo extends VersionRecord {
  current: boolean;
  /** Its artifact is still stored: rollback can go back to it. */
  rollbackable: boolean;
}

export function sourceHash(source: string | Uint8Array): string {
  return createHash("sha256").update(source).digest("hex");
}

/**
 * The artifacts a service keeps stored: the current version's and those of the newest
 * KEPT_ARTIFACTS versions. Distinct hashes, in no particular order.
 */
export function keptArtifacts(history: readonly VersionRecord[], current: number): Set<string> {
  const kept = new Set<string>();
  const newest = history.length === 0 ? 0 : history[history.length - 1]!.version;
  for (const v of history) if (v.version === current || v.version > newest - KEPT_ARTIFACTS) kept.add(v.artifact);
  return kept;
}

/** The history as the API shows it, oldest first. */
export function versionInfos(history: readonly VersionRecord[], current: number): VersionInfo[] {
  const kept = keptArtifacts(history, current);
  return history.map((v) => ({ ...v, limits: { ...v.limits }, capabilities: [...v.capabilities], current: v.version === current, rollbackable: kept.has(v.artifact) }));
}
