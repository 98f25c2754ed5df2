// The world's WIT text, read once from wit/solo.wit.
import { readFileSync } from "node:fs";

let cached: string | undefined;
export function witSource(): string {
  cached ??= readFileSync(new URL("../../wit/solo.wit", import.meta.url), "utf8");
  return cached;
}
