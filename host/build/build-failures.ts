// What a deploy answers when its build process had to be stopped, or died: COMPILE_ERROR, with a
// message that says what to change and `details.limit` naming the limit it went past.
import { SoloError } from "../errors.ts";
import type { BuildJob, BuildPhase } from "./protocol.ts";

/** What the messages need to know about the job. */
export interface JobAbout {
  op: BuildJob["op"];
  language?: string;
  file: string;
  /** Where the builder said the job was when it was stopped. */
  phase?: BuildPhase;
}

export function formatBytes(n: number): string {
  const gib = n / 1024 ** 3;
  if (gib >= 1 && Number.isInteger(gib * 10)) return `${gib} GiB`;
  return `${Math.round(n / 1024 ** 2)} MiB`;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

function failure(about: JobAbout, message: string, details: Record<string, unknown>): SoloError {
  return new SoloError("COMPILE_ERROR", message, { ...details, diagnostics: [{ file: about.file, line: 1, column: 1, message }] });
}

const isScript = (about: JobAbout) => about.language === "typescript" || about.language === "javascript";

/** The build ran past buildTimeoutMs and its process was killed. */
export function buildTimedOut(about: JobAbout, limitMs: number): SoloError {
  const past = formatMs(limitMs);
  const message = about.phase === "types"
    ? `the TypeScript type check ran past ${past} (buildTimeoutMs) on this source; simplify its types (a recursive type that builds ever larger types, large unions or template-literal types)`
    : about.op !== "source"
    ? `checking and metering this module ran past ${past} (buildTimeoutMs); send a smaller one`
    : isScript(about)
      ? `the build was stopped: top-level code runs once at build time; it ran past ${past} (buildTimeoutMs). Make the top-level code finish quickly and do the work inside handle instead`
      : `the build was stopped: the AssemblyScript compiler ran past ${past} (buildTimeoutMs) on this source; simplify it (deeply nested generics, very large literals)`;
  return failure(about, message, { limit: "buildTimeoutMs", max: limitMs });
}

/** The build's process went past buildMemoryBytes and was killed. */
export function buildOutOfMemory(about: JobAbout, limitBytes: number): SoloError {
  const over = formatBytes(limitBytes);
  const message = about.phase === "types"
    ? `the TypeScript type check used more than ${over} (buildMemoryBytes) on this source; simplify its types (a recursive type that builds ever larger types, large unions or template-literal types)`
    : about.op !== "source"
    ? `checking and metering this module used more than ${over} (buildMemoryBytes); send a smaller one`
    : isScript(about)
      ? `the build was stopped: top-level code runs once at build time; it used more than ${over} (buildMemoryBytes). Allocate less at the top level: build large data inside handle, where limits.memoryBytes applies`
      : `the build was stopped: the AssemblyScript compiler used more than ${over} (buildMemoryBytes) on this source; simplify it (deeply nested generics, very large literals)`;
  return failure(about, message, { limit: "buildMemoryBytes", max: limitBytes });
}

/** The build's process died on its own (asc calls process.exit when it crashes, an abort). */
export function buildCrashed(about: JobAbout, reason: string): SoloError {
  const who = about.op !== "source" ? "checking this module" : about.language === "assemblyscript" ? "the AssemblyScript compiler" : "the build";
  return failure(about, `${who} crashed on this source (${reason}); write the construct that sends it there another way (a generic that instantiates itself with ever deeper types is one)`, { reason });
}

/**
 * The one-line reason in a crashed process's last output: the first "SomethingError: ..." line
 * (asc prints its stack behind "▌ "), or how it exited.
 */
export function crashReason(output: string, code: number | null, signal: string | null): string {
  const phase = /crashed during (\S+)/.exec(output)?.[1];
  const error = /^[▌\s]*((?:\w*Error|FATAL ERROR)\b:?[^\n]*)$/m.exec(output)?.[1]?.trim();
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  return [phase && `during ${phase}`, error, !error && how].filter(Boolean).join(": ");
}

/** V8 aborts the process when its heap passes --max-old-space-size. */
export function isHeapExhaustion(output: string): boolean {
  return /heap out of memory|Reached heap limit/.test(output);
}
