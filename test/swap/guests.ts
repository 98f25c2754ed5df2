// Guests the swap tests move between. Each counts its calls in kv, so a reply shows both which
// version answered and that the service's kv carried over.

/** Answers "<label>:<count>", the count kept in kv under "count". */
export function labelled(label: string): string {
  return `import { kv, fail } from "solo";
export function handle(request: string): string {
  const c = kv.get("count");
  const next = (c === null ? 0 : I32.parseInt(c)) + 1;
  if (!kv.set("count", next.toString())) return fail("could not store the count");
  return "${label}:" + next.toString();
}
`;
}

/** Like labelled("bad"), but its instance traps on its 3rd call (a re-created one counts from 0 again). */
export const TRAPS_ON_THIRD_CALL = `import { kv, fail } from "solo";
let calls = 0;
export function handle(request: string): string {
  calls++;
  if (calls == 3) unreachable();
  const c = kv.get("count");
  const next = (c === null ? 0 : I32.parseInt(c)) + 1;
  if (!kv.set("count", next.toString())) return fail("could not store the count");
  return "bad:" + next.toString();
}
`;

/** Traps on every call. */
export const ALWAYS_TRAPS = `export function handle(request: string): string {
  unreachable();
  return "";
}
`;

/** The label and count of a labelled reply. */
export function parse(output: string): { label: string; count: number } {
  const i = output.lastIndexOf(":");
  return { label: output.slice(0, i), count: Number(output.slice(i + 1)) };
}

/**
 * Answers "<label>:<count>:<from>": migrate(fromVersion) stores fromVersion under "from", so a
 * reply shows which migration the kv went through ("-" before any).
 */
export function migrating(label: string): string {
  return labelled(label)
    .replace(`return "${label}:" + next.toString();`, `const from = kv.get("from");
  return "${label}:" + next.toString() + ":" + (from === null ? "-" : from);`) + `
export function migrate(fromVersion: u32): string | null {
  if (!kv.set("from", fromVersion.toString())) return "could not store from";
  return null;
}
`;
}

/** A version whose migrate fails with a message. */
export const MIGRATE_FAILS = labelled("m") + `
export function migrate(fromVersion: u32): string | null {
  kv.set("half", "done");
  return "the schema of version " + fromVersion.toString() + " is too old";
}
`;

/** A version whose health export fails. */
export const UNHEALTHY = labelled("u") + `
export function health(): string | null {
  return "the database is not reachable";
}
`;
