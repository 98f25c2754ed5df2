// Example services broken on a known line, for the tests that check a failure names that line.
import * as assert from "uvu/assert";
import type { SoloError } from "../../host/index.ts";

/** Builds are not what these tests time: a loaded machine may take minutes for one. */
export const BUILD_TIMEOUT_MS = 600_000;

export interface Frame { file: string; line: number; column: number; function: string }

/** `source` with `statement` as the first line of handle's body; `line` is where it landed (1-based). */
export function breakHandle(source: string, statement: string): { source: string; line: number } {
  const lines = source.split("\n");
  const i = lines.findIndex((l) => l.startsWith("export function handle("));
  assert.ok(i >= 0, "the example has a top-level handle");
  lines.splice(i + 1, 0, statement);
  return { source: lines.join("\n"), line: i + 2 };
}

/** The failure names `file:line:col (handle)` first, and details.stack has that frame. */
export function assertNamesLine(e: SoloError, file: string, line: number, rest: RegExp): Frame {
  const stack = e.details?.stack as Frame[] | undefined;
  assert.ok(Array.isArray(stack) && stack.length > 0, `details.stack is a list of frames: ${JSON.stringify(e.details)}`);
  const at = stack.find((f) => f.file === file);
  assert.ok(at, `a frame is in ${file}: ${JSON.stringify(stack)}`);
  assert.is(at.line, line, `the frame in ${file} is on line ${line}: ${JSON.stringify(stack)}`);
  assert.is(at.function, "handle");
  assert.ok(Number.isInteger(at.column) && at.column >= 1, "columns are 1-based");
  const first = e.message.split("\n")[0]!;
  assert.ok(first.startsWith(`${file}:${line}:${at.column} (handle): `), `the message starts with the guest's line: ${first}`);
  assert.match(first.slice(`${file}:${line}:${at.column} (handle): `.length), rest);
  return at;
}
