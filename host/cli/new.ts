// `solo new NAME [--lang ts|as|js]`: a service folder to start from, made locally (no server).
// NAME/ gets the guest (an echo that counts its calls in kv and logs each one), a test that runs
// it with `solo run` (node:test, so `node --test` in the folder runs it) and a README of three
// lines. An existing folder with anything in it is refused: nothing of the user's is overwritten.
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { SoloError } from "../errors.ts";
import { EXIT, UsageError, printFailure, printJson } from "./common.ts";

export interface NewOptions {
  lang?: string;
  json?: boolean;
}

/** What --lang takes, and what each makes. */
const LANGS = {
  ts: { file: "service.ts", language: "TypeScript" },
  as: { file: "service.as.ts", language: "AssemblyScript" },
  js: { file: "service.js", language: "JavaScript" },
} as const;
type Lang = keyof typeof LANGS;

/** The service's name is the folder's last part, so it must be one (docs/API.md, Names). */
const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const TS_GUEST = `// NAME: answers "echo: REQUEST", counts its calls in the service's kv and logs each one.
import { kv, log } from "solo";

export function handle(request: string): string {
  const calls = Number(kv.get("calls") ?? "0") + 1;
  kv.set("calls", String(calls));
  log.info(\`call \${calls}: \${request}\`);
  return \`echo: \${request}\`;
}
`;

const JS_GUEST = `// NAME: answers "echo: REQUEST", counts its calls in the service's kv and logs each one.
import { kv, log } from "solo";

export function handle(request) {
  const calls = Number(kv.get("calls") ?? "0") + 1;
  kv.set("calls", String(calls));
  log.info(\`call \${calls}: \${request}\`);
  return \`echo: \${request}\`;
}
`;

const AS_GUEST = `// NAME: answers "echo: REQUEST", counts its calls in the service's kv and logs each one.
import { kv, log, fail } from "solo";

export function handle(request: string): string {
  const stored = kv.get("calls");
  const calls = (stored === null ? 0 : I32.parseInt(stored)) + 1;
  if (!kv.set("calls", calls.toString())) return fail("could not store the call count");
  log.info("call " + calls.toString() + ": " + request);
  return "echo: " + request;
}
`;

// The test runs the real command, as a user would: \`solo\` on PATH, or SOLO naming it (a .mjs is
// run with this node, e.g. SOLO=~/solo/bin/solo.mjs).
const TEST = `// Runs FILE once with \`solo run\` and checks its answer. Run it with \`node --test\` in this folder;
// it uses \`solo\` on PATH, or the command in SOLO (e.g. SOLO=/path/to/solo/bin/solo.mjs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const solo = process.env.SOLO || "solo";
const [command, ...first] = /\\.m?js$/.test(solo) ? [process.execPath, solo] : [solo];

function run(request) {
  const out = execFileSync(command, [...first, "run", "FILE", "--input", request, "--json"], { cwd: here, encoding: "utf8" });
  return JSON.parse(out);
}

test("NAME answers echo: REQUEST", () => {
  const reply = run("hi");
  assert.equal(reply.output, "echo: hi");
  assert.ok(reply.fuel > 0, "the call was metered");
});
`;

function readme(name: string, lang: Lang): string {
  const file = LANGS[lang].file;
  return [
    `# ${name}: a Solo service in ${LANGS[lang].language} (${file}); \`solo run ${file} --input hi\` answers "echo: hi".`,
    `Test: \`node --test\` here (runs service.test.mjs: \`solo\` on PATH, or SOLO=path/to/bin/solo.mjs).`,
    `Deploy: \`solo deploy ${file} --tenant T --service ${name}\`; dev loop (swap on every save): \`solo dev ${file} --tenant T --service ${name}\`.`,
  ].join("\n") + "\n";
}

/** Makes NAME/ with the guest, its test and a README; answers the exit code. */
export function newService(name: string, o: NewOptions): number {
  const lang = (o.lang ?? "ts") as Lang;
  if (!Object.hasOwn(LANGS, lang)) throw new UsageError(`--lang must be ts (TypeScript), as (AssemblyScript) or js (JavaScript); got ${JSON.stringify(o.lang)}`);
  const dir = resolve(name);
  const service = basename(dir);
  if (!SERVICE_NAME.test(service)) throw new UsageError(`NAME's last part is the service's name and must match ${SERVICE_NAME.source} (lower case letters, digits, _ and -); got ${JSON.stringify(service)}`);
  let existing: string[] = [];
  try {
    existing = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") existing = [service];
    else if (code !== "ENOENT") throw new SoloError("INVALID_ARGUMENT", `cannot read ${name} (${code ?? (err as Error).message})`, { field: "name" });
  }
  if (existing.length > 0) {
    // Exit 2 like a usage error (the command line named a taken folder), with a SoloError's line.
    printFailure(new SoloError("ALREADY_EXISTS", `${name} exists and is not empty; pick another NAME or empty the folder`, { field: "name", path: dir }), o.json === true);
    return EXIT.usage;
  }
  const file = LANGS[lang].file;
  const guest = (lang === "ts" ? TS_GUEST : lang === "js" ? JS_GUEST : AS_GUEST).replaceAll("NAME", service);
  const files: [string, string][] = [
    [file, guest],
    ["service.test.mjs", TEST.replaceAll("FILE", file).replaceAll("NAME", service)],
    ["README.md", readme(service, lang)],
  ];
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of files) writeFileSync(join(dir, f), text, { flag: "wx" });
  if (o.json) printJson({ dir, service, language: LANGS[lang].language.toLowerCase(), files: files.map(([f]) => f) });
  else process.stdout.write(`made ${name}/: ${files.map(([f]) => f).join(", ")}\n  solo run ${join(name, file)} --input hi\n  cd ${name} && node --test\n`);
  return EXIT.ok;
}
