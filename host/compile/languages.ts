// The source languages Solo accepts, and how a file name maps to one.
import { SoloError } from "../errors.ts";

export const LANGUAGES = ["assemblyscript", "typescript", "javascript", "component", "javy"] as const;
export type Language = (typeof LANGUAGES)[number];

/** `.as.ts` AssemblyScript, `.ts` TypeScript, `.js`/`.mjs` JavaScript, `.wasm` a component. */
export function languageOf(file: string): Language | undefined {
  if (file.endsWith(".as.ts")) return "assemblyscript";
  if (file.endsWith(".ts")) return "typescript";
  if (file.endsWith(".js") || file.endsWith(".mjs")) return "javascript";
  if (file.endsWith(".wasm")) return "component";
  return undefined;
}

export function checkLanguage(value: unknown): Language {
  if (typeof value !== "string" || !(LANGUAGES as readonly string[]).includes(value)) {
    throw new SoloError("INVALID_ARGUMENT", `language ${JSON.stringify(value)} is unknown; use one of ${LANGUAGES.join(", ")}`, { field: "language" });
  }
  return value as Language;
}
