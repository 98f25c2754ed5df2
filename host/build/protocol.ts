// Messages between the host and its builder process (child_process.fork with "advanced"
// serialization, so Uint8Arrays cross as they are). The builder answers one job at a time.
import type { Language } from "../compile/index.ts";
import type { ErrorCode } from "../errors.ts";
import type { Finding, TypeCheckMode, ValidationReport } from "../validate/index.ts";
import type { ArtifactCounters, BuiltArtifact } from "../wasm/index.ts";

/** Source languages the builder compiles. */
export type SourceLanguage = Extract<Language, "assemblyscript" | "typescript" | "javascript">;

export type BuildJob =
  /** Validate, compile (cached by `key`), inspect, meter, and transpile when it has several modules. */
  | { op: "source"; language: SourceLanguage; source: string; file: string; key: string; maxSourceBytes: number; compiler?: "quickjs" | "javy"; typeCheck?: TypeCheckMode }
  /** Validate only (Host.validate): the source rules and, for TypeScript, the type check. */
  | { op: "check"; language: SourceLanguage; source: string | Uint8Array; file: string; maxSourceBytes: number; typeCheck: TypeCheckMode }
  /** Inspect and meter component bytes; several core modules only when Solo built them (trustGlue). */
  | { op: "component"; bytes: Uint8Array; trustGlue: boolean }
  /** Check and meter a javy module (a WASI command). */
  | { op: "javy"; bytes: Uint8Array };

export interface BuildOutput {
  artifact: BuiltArtifact;
  /** Validation warnings (source jobs). */
  warnings: Finding[];
  /** What this job did to the caches: compiles and meters run or found. */
  counters: ArtifactCounters;
}

/** What a check job answers. */
export type CheckOutput = ValidationReport;

export interface WireError { code: ErrorCode; message: string; details?: Record<string, unknown> }

/** init.memoryBytes: buildMemoryBytes, which a TS/JS guest's top-level code is held to (half of it) as it runs at build time. */
export type ToBuilder = { t: "init"; cacheDir?: string; memoryBytes?: number } | { t: "job"; id: number; job: BuildJob };

/** "phase": the job is in its TypeScript type check, so a job stopped now is said to be stopped there. */
export type FromBuilder = { t: "ready" } | { t: "phase"; id: number; phase: BuildPhase } | { t: "done"; id: number; output: BuildOutput | CheckOutput } | { t: "failed"; id: number; error: WireError };

/** Where a job is, as far as a failure's message needs: in the type checker, or anywhere else. */
export type BuildPhase = "types" | "build";
