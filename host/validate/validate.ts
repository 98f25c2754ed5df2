// Source validation, before any compile (the seed's "dangerous pattern detection"). It reads the
// text the agent sent, with comments and string contents blanked out, and reports findings with
// positions. It is a fast first check (~1 ms per 10 KB), not the boundary: whatever passes still
// runs only inside metered WebAssembly with no imports but the solo:agent world.
import { SoloError } from "../errors.ts";
import type { Language } from "../compile/index.ts";

export interface Finding {
  rule: string;
  severity: "error" | "warning";
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
}

export interface ValidationReport {
  ok: boolean;
  findings: Finding[];
}

export interface ValidateOptions {
  source: string | Uint8Array;
  language: Language;
  maxSourceBytes?: number;
}

interface Rule {
  rule: string;
  severity: "error" | "warning";
  pattern: RegExp;
  message: string;
}

const RULES: Rule[] = [
  { rule: "no-eval", severity: "error", pattern: /(?<![\w$.])eval\s*\(/g, message: "eval runs text as code; build the logic into the service instead" },
  { rule: "no-function-constructor", severity: "error", pattern: /\bnew\s+Function\s*\(|(?<![\w$.])Function\s*\(/g, message: "the Function constructor runs text as code; write the function out" },
  { rule: "no-dynamic-import", severity: "error", pattern: /(?<![\w$.])import\s*\(/g, message: "dynamic import() is not available to guests; import from \"solo\" statically" },
  { rule: "no-webassembly", severity: "error", pattern: /\bWebAssembly\s*\./g, message: "guests cannot compile or run WebAssembly themselves" },
];

/** Replaces comments and the contents of strings and templates with spaces, keeping positions. */
function blank(text: string): string {
  const out = text.split("");
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    const d = text[i + 1];
    if (c === "/" && d === "/") {
      while (i < n && text[i] !== "\n") out[i++] = " ";
    } else if (c === "/" && d === "*") {
      while (i < n && !(text[i] === "*" && text[i + 1] === "/")) {
        if (text[i] !== "\n") out[i] = " ";
        i++;
      }
      if (i < n) out[i++] = " ";
      if (i < n) out[i++] = " ";
    } else if (c === '"' || c === "'" || c === "`") {
      i++;
      while (i < n && text[i] !== c) {
        if (text[i] === "\\") {
          if (text[i] !== "\n") out[i] = " ";
          i++; // the escaped character is blanked below
        }
        if (i < n && text[i] !== "\n") out[i] = " ";
        i++;
      }
      i++;
    } else i++;
  }
  return out.join("");
}

function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Checks source text against Solo's rules. Errors block a deploy; warnings are kept in status. */
export function validateSource(options: ValidateOptions): ValidationReport {
  const findings: Finding[] = [];
  const max = options.maxSourceBytes ?? 1024 * 1024;
  let text: string;
  if (typeof options.source === "string") text = options.source;
  else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(options.source);
    } catch {
      return { ok: false, findings: [{ rule: "utf8", severity: "error", line: 1, column: 1, message: "source is not valid UTF-8 text" }] };
    }
  }
  const size = Buffer.byteLength(text);
  if (size > max) findings.push({ rule: "source-size", severity: "error", line: 1, column: 1, message: `source is ${size} bytes; limits.maxSourceBytes is ${max}` });
  if (options.language === "component" || options.language === "javy") return { ok: findings.length === 0, findings };

  const code = blank(text);
  const add = (rule: string, severity: "error" | "warning", offset: number, message: string) => findings.push({ rule, severity, ...position(text, offset), message });
  for (const r of RULES) {
    for (const m of code.matchAll(r.pattern)) add(r.rule, r.severity, m.index!, r.message);
  }
  // Static imports and re-exports: only "solo".
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*(["'])([^"']*)\1|^\s*import\s*(["'])([^"']*)\3/gm)) {
    const spec = m[2] ?? m[4];
    if (spec !== undefined && spec !== "solo") {
      const at = m.index! + m[0].lastIndexOf(spec) - 1;
      add("imports-only-solo", "error", at, `"${spec}" cannot be imported: a guest may import only "solo"`);
    }
  }
  // Loops with no visible way out.
  for (const m of code.matchAll(/\b(?:while\s*\(\s*(?:true|1)\s*\)|for\s*\(\s*;\s*;\s*\))/g)) {
    const body = blockAfter(code, m.index! + m[0].length);
    if (!/\b(?:break|return|throw)\b/.test(body)) add("loop-without-exit", "warning", m.index!, "this loop has no break, return or throw: it will run until its fuel is gone");
  }
  // Functions that call themselves with no branch before the call.
  for (const m of code.matchAll(/\bfunction\s+([A-Za-z_$][\w$]*)\s*\([^)]*\)[^{]*\{/g)) {
    const name = m[1]!;
    const body = blockAfter(code, m.index! + m[0].length - 1);
    const self = new RegExp(`(?<![\\w$.])${name.replace(/\$/g, "\\$")}\\s*\\(`).exec(body);
    if (self && !/\b(?:if|switch|while|for)\b|\?|&&|\|\|/.test(body.slice(0, self.index))) {
      add("recursion-without-base-case", "warning", m.index!, `${name} calls itself before any condition: it recurses until the stack or its fuel runs out`);
    }
  }
  findings.sort((a, b) => a.line - b.line || a.column - b.column);
  return { ok: !findings.some((f) => f.severity === "error"), findings };
}

/** The text of the block that starts at or after `from` (a statement when there are no braces). */
function blockAfter(code: string, from: number): string {
  const open = code.indexOf("{", from);
  const semi = code.indexOf(";", from);
  if (open < 0 || (semi >= 0 && semi < open)) return code.slice(from, semi < 0 ? undefined : semi);
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === "{") depth++;
    else if (code[i] === "}" && --depth === 0) return code.slice(open + 1, i);
  }
  return code.slice(open + 1);
}

/** Throws VALIDATION_FAILED with the findings when there is an error; returns the warnings. */
export function requireValid(options: ValidateOptions): Finding[] {
  const report = validateSource(options);
  const errors = report.findings.filter((f) => f.severity === "error");
  if (errors.length > 0) {
    const f = errors[0]!;
    throw new SoloError("VALIDATION_FAILED", `source breaks rule ${f.rule} at ${f.line}:${f.column}: ${f.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`, { findings: report.findings });
  }
  return report.findings;
}
