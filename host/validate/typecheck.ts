// Type checks for TypeScript guests, against the guest SDK's declarations (guest-sdk/js/index.d.ts
// for "solo"). esbuild only strips types, so before this `const n: number = request` deployed and
// ran. The checker is TypeScript's own (the `typescript-compiler-api` package: TypeScript 6, the
// last with the JavaScript compiler API; `typescript` 7 is a native binary), loaded on the first
// check only: loading it costs ~1 s and ~60 MB, so this runs in the builder process (deploys) and
// in `solo validate`, never on the API thread.
//
// One program over a tiny in-memory host: the guest's file, the SDK's .d.ts, the globals a guest
// has (console) and lib.es2020 (no DOM, no Node). Every file but the guest's is parsed once per
// process and the last program is handed to the next as its old program, so a warm check parses
// one file and checks it (~20-60 ms for a small guest; bench figures in test/validate). Only the
// guest's own file is checked (skipLibCheck); a source with syntax errors is left to the compiler,
// which reports them with positions (COMPILE_ERROR).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type * as TS from "typescript-compiler-api";
import type { Finding } from "./validate.ts";

type TsModule = typeof TS;

const SDK_DTS = fileURLToPath(new URL("../../guest-sdk/js/index.d.ts", import.meta.url));
/** The names the program sees (nothing is read from disk under them). */
const GUEST_DIR = "/guest/";
const SDK_PATH = "/sdk/solo/index.d.ts";
const GLOBALS_PATH = "/sdk/globals.d.ts";
const LIB_DIR = "/lib/";
/** What the guest runtime provides beyond ECMAScript: console (through log). */
const GLOBALS = `declare var console: { log(...data: unknown[]): void; info(...data: unknown[]): void; warn(...data: unknown[]): void; error(...data: unknown[]): void; debug(...data: unknown[]): void };\n`;
/** Diagnostics another rule already reports: a module other than "solo" (imports-only-solo). */
const LEFT_TO_OTHER_RULES = new Set([2307]);

/** Larger sources are not checked (a finding says so): ~1 s of checking per 100 KB. */
const MAX_CHECKED_CHARS = 512 * 1024;

/** Bumped when what a check reports changes for the same source (it is part of the compile key). */
export const TYPECHECK_VERSION = "1";

let ts: TsModule | undefined;
let tsVersion: string | undefined;

/** The checker's package version, for the compile key (read from its package.json, nothing loaded). */
export function typeCheckerVersion(): string {
  if (tsVersion === undefined) {
    try {
      const require = createRequire(import.meta.url);
      tsVersion = (JSON.parse(readFileSync(require.resolve("typescript-compiler-api/package.json"), "utf8")) as { version: string }).version;
    } catch {
      tsVersion = "none";
    }
  }
  return `${tsVersion} ${TYPECHECK_VERSION}`;
}

function load(): TsModule {
  ts ??= createRequire(import.meta.url)("typescript-compiler-api") as TsModule;
  return ts;
}

/** Parsed files shared by every check: lib, SDK, globals (keyed by path). */
const shared = new Map<string, TS.SourceFile>();
let oldProgram: TS.Program | undefined;
let compilerOptions: TS.CompilerOptions | undefined;

function sharedFile(t: TsModule, path: string, options: TS.CompilerOptions): TS.SourceFile | undefined {
  let sf = shared.get(path);
  if (sf) return sf;
  let text: string | undefined;
  if (path === SDK_PATH) text = readFileSync(SDK_DTS, "utf8");
  else if (path === GLOBALS_PATH) text = GLOBALS;
  else if (path.startsWith(LIB_DIR)) {
    const name = path.slice(LIB_DIR.length);
    if (!/^lib\.[a-z0-9.]+\.d\.ts$/.test(name)) return undefined;
    try {
      text = readFileSync(`${t.getDefaultLibFilePath(options).replace(/[^/\\]+$/, "")}${name}`, "utf8");
    } catch {
      return undefined;
    }
  }
  if (text === undefined) return undefined;
  sf = t.createSourceFile(path, text, { languageVersion: t.ScriptTarget.ES2020 }, false);
  shared.set(path, sf);
  return sf;
}

export interface TypeCheckOptions {
  source: string;
  /** The guest's file name, as findings name it (default guest.ts). */
  file?: string;
  /** Severity of what it finds (default "warning"). */
  severity?: "warning" | "error";
}

/**
 * Type-checks a TypeScript guest; findings carry `code` (e.g. TS2322) and `file`, at 1-based
 * lines and columns of the guest's own source. Also checks the contract with the checker's
 * types: `handle` must be a function of (string) returning a string, `health` and `migrate`
 * must not return a Promise (what the text rules cannot see: `export const handle = make()`).
 */
export function typeCheck(options: TypeCheckOptions): Finding[] {
  const file = options.file ?? "guest.ts";
  const severity = options.severity ?? "warning";
  // A source the checker cannot vouch for is a type finding too: under "error" it is refused.
  const unchecked = (code: string, message: string): Finding[] => [{ rule: "type-check", severity, line: 1, column: 1, message, code, file }];
  if (options.source.length > MAX_CHECKED_CHARS) {
    return unchecked("too-large", `not type-checked: the source is over ${MAX_CHECKED_CHARS / 1024} KB of text (a check would take seconds); split it into a smaller guest`);
  }
  try {
    return check(options.source, file, severity);
  } catch (err) {
    // TypeScript's parser and checker recurse: a source nested thousands deep exhausts the stack.
    const why = err instanceof RangeError ? "it nests deeper than the checker can follow; flatten the nesting" : `${(err as Error).name}: ${(err as Error).message}`;
    return unchecked("gave-up", `not type-checked: the TypeScript checker gave up on this source: ${why}`);
  }
}

function check(source: string, file: string, severity: "warning" | "error"): Finding[] {
  const t = load();
  const guestPath = `${GUEST_DIR}guest.ts`;
  // One options object for every check: a program is reused only under the same options.
  const options: TS.CompilerOptions = (compilerOptions ??= {
    strict: true, noEmit: true, skipLibCheck: true, target: t.ScriptTarget.ES2020, module: t.ModuleKind.ESNext,
    moduleResolution: t.ModuleResolutionKind.Bundler, lib: ["lib.es2020.d.ts"], types: [], isolatedModules: true,
    noUnusedLocals: false, allowJs: false, useDefineForClassFields: true,
  });
  const guest = t.createSourceFile(guestPath, source, { languageVersion: t.ScriptTarget.ES2020 }, true);
  const host: TS.CompilerHost = {
    getSourceFile: (name) => (name === guestPath ? guest : sharedFile(t, name, options)),
    getDefaultLibFileName: () => `${LIB_DIR}lib.es2020.d.ts`,
    getDefaultLibLocation: () => LIB_DIR,
    writeFile: () => {},
    getCurrentDirectory: () => GUEST_DIR,
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => "\n",
    fileExists: (name) => name === guestPath || name === SDK_PATH || name === GLOBALS_PATH || (name.startsWith(LIB_DIR) && sharedFile(t, name, options) !== undefined),
    readFile: (name) => (name === guestPath ? source : sharedFile(t, name, options)?.text),
    // "solo" is the SDK; nothing else resolves (imports-only-solo says so).
    resolveModuleNameLiterals: (literals) => literals.map((l) => ({
      resolvedModule: l.text === "solo" ? { resolvedFileName: SDK_PATH, extension: t.Extension.Dts, isExternalLibraryImport: false } : undefined,
    })),
  };
  const program = t.createProgram({ rootNames: [GLOBALS_PATH, guestPath], options, host, oldProgram });
  oldProgram = program;
  const syntax = program.getSyntacticDiagnostics(guest);
  if (syntax.length > 0) return [];
  const findings: Finding[] = [];
  const at = (node: TS.Node | undefined, start?: number) => {
    const pos = t.getLineAndCharacterOfPosition(guest, start ?? (node ? node.getStart(guest) : 0));
    return { line: pos.line + 1, column: pos.character + 1 };
  };
  for (const d of program.getSemanticDiagnostics(guest)) {
    if (LEFT_TO_OTHER_RULES.has(d.code)) continue;
    findings.push({ rule: "type-check", severity, ...at(undefined, d.start ?? 0), message: t.flattenDiagnosticMessageText(d.messageText, " "), code: `TS${d.code}`, file });
  }
  findings.push(...contract(t, program, guest, severity, file, at));
  return findings.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** The exports' types against the contract, from the checker. */
function contract(t: TsModule, program: TS.Program, guest: TS.SourceFile, severity: "warning" | "error", file: string, at: (node: TS.Node | undefined) => { line: number; column: number }): Finding[] {
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(guest);
  if (!module) return [];
  const out: Finding[] = [];
  const stringType = checker.getStringType();
  for (const sym of checker.getExportsOfModule(module)) {
    const name = sym.getName();
    if (name !== "handle" && name !== "health" && name !== "migrate") continue;
    const decl = sym.declarations?.[0];
    const target = sym.flags & t.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    const node = decl && (t.isExportSpecifier(decl) ? decl.name : (decl as TS.NamedDeclaration).name ?? decl);
    const type = checker.getTypeOfSymbolAtLocation(target, node ?? guest);
    const signatures = type.getCallSignatures();
    const add = (message: string) => out.push({ rule: "export-signature", severity, ...at(node), message, code: "contract", file });
    if (signatures.length === 0) {
      add(`${name} must be a function; its type is ${checker.typeToString(type)}`);
      continue;
    }
    const ret = checker.getReturnTypeOfSignature(signatures[0]!);
    const retText = checker.typeToString(ret);
    const isPromise = ret.getSymbol()?.getName() === "Promise";
    if (name === "handle") {
      if (!checker.isTypeAssignableTo(ret, stringType) && !(ret.flags & t.TypeFlags.Any)) add(`handle must return a string; its type says it returns ${retText}`);
      const param = signatures[0]!.getParameters()[0];
      if (param) {
        const pType = checker.getTypeOfSymbolAtLocation(param, node ?? guest);
        if (!checker.isTypeAssignableTo(stringType, pType)) add(`handle is called with the request, a string; its parameter is ${checker.typeToString(pType)}`);
      }
    } else if (isPromise) add(`${name} must not return a Promise (Solo calls it synchronously); its type says it returns ${retText}`);
  }
  return out;
}
