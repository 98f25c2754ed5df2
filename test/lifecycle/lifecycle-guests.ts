// Guests with the optional exports health and migrate, and a way to run what the real builder
// makes of them in this thread: an artifact, instantiated as the worker would (Sandbox for a
// single-module guest, GlueSandbox through jco's glue), with a GuestEnv over a Map so a test
// can set what the guest reads and see what it writes.
import { ArtifactStore, Builder, DEFAULT_BUILD_LIMITS, type Artifact } from "../../host/build/index.ts";
import { GlueSandbox, type Glue } from "../../host/runtime/glue-sandbox.ts";
import { ComponentSandbox } from "../../host/runtime/component-sandbox.ts";
import type { GuestInstance } from "../../host/runtime/guest-instance.ts";
import { Sandbox, witOk, type GuestEnv } from "../../host/runtime/index.ts";
import { ensureWasmFeatures } from "../../host/wasm/index.ts";
import { TEST_CACHE } from "../helpers.ts";

// The guest reads kv "mode" to choose what health / migrate do: "" succeed, "fail" fail with a
// message, "trap" trap (AssemblyScript: abort; TypeScript: unbounded recursion), "spin" loop until
// the fuel runs out; "bomb" (TypeScript) allocate until the memory runs out.
export const AS_BOTH = `import { kv, fail } from "solo";
export function handle(request: string): string {
  return "v2:" + request;
}
function act(what: string): string | null {
  const mode = kv.get("mode");
  if (mode == null || mode == "") return null;
  if (mode == "fail") return what + " is not ready";
  if (mode == "fail-fn") { fail(what + " failed through fail()"); return null; }
  if (mode == "trap") throw new Error(what + " blew up");
  let n: u64 = 0;
  while (mode == "spin") n++;
  return n.toString();
}
export function health(): string | null {
  return act("health");
}
export function migrate(fromVersion: u32): string | null {
  const r = act("migrate");
  if (r != null) return r;
  kv.set("migrated-from", fromVersion.toString());
  kv.set("schema", "2");
  return null;
}
`;

export const AS_MIGRATE_ONLY = `import { kv } from "solo";
export function handle(request: string): string {
  return "m:" + request;
}
function upgrade(fromVersion: u32): string | null {
  if (fromVersion == 0) return "cannot migrate from version 0";
  kv.set("migrated-from", fromVersion.toString());
  return null;
}
export { upgrade as migrate };
`;

export const AS_NEITHER = `export function handle(request: string): string {
  return "plain:" + request;
}
// Not exported: only top-level exports count.
function health(): string | null { return "never"; }
`;

export const TS_BOTH = `import { kv } from "solo";
export function handle(request: string): string {
  return "v2:" + request;
}
function deeper(n: number): number {
  return deeper(n + 1) + 1;
}
function act(what: string): void {
  const mode = kv.get("mode") ?? "";
  if (mode === "trap") deeper(0);
  if (mode === "fail") throw new Error(what + " is not ready");
  if (mode === "spin") for (;;) {}
  if (mode === "bomb") { const keep: number[][] = []; for (;;) keep.push(new Array(100_000).fill(1)); }
}
export function health(): void {
  act("health");
}
export function migrate(fromVersion: number): void {
  act("migrate");
  kv.set("migrated-from", String(fromVersion));
  kv.set("schema", "2");
}
`;

export const TS_MIGRATE_ONLY = `import { kv } from "solo";
export function handle(request: string): string {
  return "m:" + request;
}
export const migrate = (fromVersion: number): void => {
  if (fromVersion === 0) throw new Error("cannot migrate from version 0");
  kv.set("migrated-from", String(fromVersion));
};
`;

export const TS_NEITHER = `export function handle(request: string): string {
  return "plain:" + request;
}
function health(): void { throw new Error("never"); }
`;

/** A GuestEnv whose kv is `kv`; log lines go to `logs`. */
export function mapEnv(kv: Map<string, string>, logs: string[] = []): GuestEnv {
  return {
    log: (level, message) => void logs.push(`${level}: ${message}`),
    kvGet: (k) => witOk(kv.get(k)),
    kvSet: (k, v) => (kv.set(k, v), witOk(undefined)),
    kvDelete: (k) => (kv.delete(k), witOk(undefined)),
    kvKeys: (p) => witOk([...kv.keys()].filter((k) => k.startsWith(p)).sort()),
    kvCount: () => kv.size,
    secretGet: () => ({ ok: false, kind: "access-denied", message: "no secrets here" }),
    serviceCall: () => ({ ok: false, kind: "access-denied", message: "no calls here" }),
    emit: () => ({ ok: false, kind: "access-denied", message: "no events here" }),
    nextU64: () => 4n,
    nowMs: () => 0n,
    monotonicNs: () => 0n,
    randomFill: (target) => void target.fill(4),
  };
}

export interface Builds {
  store: ArtifactStore;
  build(language: "assemblyscript" | "typescript", source: string): Promise<Artifact>;
  close(): Promise<void>;
}

/** The builder process and artifact store a Host uses, on the shared test cache. */
export function builds(): Builds {
  ensureWasmFeatures();
  const builder = new Builder({ cacheDir: TEST_CACHE, ...DEFAULT_BUILD_LIMITS });
  const store = new ArtifactStore(builder);
  return {
    store,
    async build(language, source) {
      return (await store.fromSource({ language, source, file: language === "typescript" ? "guest.ts" : "guest.as.ts", maxSourceBytes: 1 << 20 })).artifact;
    },
    close: () => builder.close(),
  };
}

export const MEMORY = 64 * 1024 * 1024;
export const FUEL = 50_000_000;

/** A running instance of an artifact, bound the way the worker binds it. */
export async function instantiate(artifact: Artifact, env: GuestEnv): Promise<GuestInstance> {
  const run = artifact.run;
  if (run.kind === "core") return Sandbox.create(run.module, { encoding: run.encoding, memoryLimitBytes: MEMORY, startFuel: FUEL, env, lifecycle: run.lifecycle });
  if (run.kind === "component") return new ComponentSandbox(run.plan, run.modules, env, MEMORY, FUEL);
  if (run.kind === "glue") return new GlueSandbox((await import(run.glueUrl)) as Glue, run.modules, env, MEMORY, FUEL);
  throw new Error(`no ${run.kind} guests here`);
}
