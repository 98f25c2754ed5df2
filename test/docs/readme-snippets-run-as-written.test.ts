// The TypeScript in README.md and guest-sdk/README.md runs as written. Every fenced ```ts / ```js
// block is one of two kinds, and a block of neither fails this test:
//   - a Host API script (imports "./host/index.ts"): run by Node from the project's folder, with
//     its "./data" pointed at a temp directory; its `// prints: X` comments are its stdout, in order;
//   - a guest (exports handle): deployed to a real host (file name by its first comment:
//     AssemblyScript .as.ts, JavaScript .js, else .ts) and called as its `// call "req" → "answer"`
//     lines say (`→ CODE`: the call fails with that code; "..." in an answer matches anything);
//     without such lines, a call with "hello" must succeed.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import * as assert from "uvu/assert";
import { SoloError } from "../../host/index.ts";
import { openHost, ROOT, test } from "../helpers.ts";

interface Block {
  where: string;
  code: string;
}

function blocks(file: string): Block[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  const out: Block[] = [];
  for (const m of text.matchAll(/^```(ts|js)\n([\s\S]*?)^```$/gm)) {
    const line = text.slice(0, m.index).split("\n").length;
    out.push({ where: `${file}:${line}`, code: m[2]! });
  }
  return out;
}

const ALL = [...blocks("README.md"), ...blocks("guest-sdk/README.md")];
const isHostScript = (b: Block) => b.code.includes(`from "./host/index.ts"`);
const isGuest = (b: Block) => /export function handle\(/.test(b.code);

function guestFile(b: Block, i: number): string {
  const first = b.code.split("\n")[0] ?? "";
  if (first.startsWith("// AssemblyScript")) return `snippet${i}.as.ts`;
  if (first.startsWith("// JavaScript")) return `snippet${i}.js`;
  return `snippet${i}.ts`;
}

/** "..." in an answer the README gives matches any text. */
function answerPattern(answer: string): RegExp {
  return new RegExp(`^${answer.split("...").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[\\s\\S]*")}$`);
}

test("every ts/js block of the READMEs is a Host API script or a guest, and there are some of each", () => {
  for (const b of ALL) assert.ok(isHostScript(b) || isGuest(b), `${b.where}: neither a Host API script (imports "./host/index.ts") nor a guest (exports handle): say how to run it here`);
  assert.ok(ALL.filter(isHostScript).length >= 1, "the README has its Host API script");
  assert.ok(ALL.filter(isGuest).length >= 4, "the READMEs have their guests");
});

test("the Host API script runs as written and prints what its comments say", async () => {
  for (const b of ALL.filter(isHostScript)) {
    const dir = mkdtempSync(join(tmpdir(), "solo-readme-"));
    try {
      // The two substitutions: the import from wherever this runs, the data in a temp directory.
      const script = b.code.replace(`"./host/index.ts"`, JSON.stringify(pathToFileURL(join(ROOT, "host/index.ts")).href)).replace(`"./data"`, JSON.stringify(join(dir, "data")));
      assert.ok(script.includes(JSON.stringify(join(dir, "data"))), `${b.where}: the script opens the host on "./data"; this test points that at a temp directory`);
      writeFileSync(join(dir, "host-api.ts"), script);
      const run = await promisify(execFile)(process.execPath, ["--import", pathToFileURL(join(ROOT, "bin/ts-register.mjs")).href, join(dir, "host-api.ts")], { cwd: ROOT, timeout: 120_000 }).catch((err: { code?: number; stdout?: string; stderr?: string }) => {
        throw new assert.Assertion({ message: `${b.where} failed (exit ${err.code}): ${err.stderr || err.stdout}`, operator: "run", generated: false, expects: "exit 0", actual: String(err.code) });
      });
      const prints = [...b.code.matchAll(/\/\/ prints: (.*)$/gm)].map((m) => m[1]!.trim());
      assert.equal(run.stdout.trim().split("\n"), prints, `${b.where}: stdout`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("each guest of the READMEs deploys as written and answers as its comments say", async () => {
  const t = await openHost();
  try {
    for (const [i, b] of ALL.filter(isGuest).entries()) {
      const service = `snippet${i}`;
      await t.host.deploy({ tenant: "docs", service, source: b.code, file: guestFile(b, i) }).catch((err: Error) => {
        throw new Error(`${b.where} does not deploy: ${err instanceof SoloError ? `${err.code}: ` : ""}${err.message}`);
      });
      const calls = [...b.code.matchAll(/^\/\/ call (".*?") → (".*"|[A-Z_]+)\s*$/gm)].map((m) => ({ request: JSON.parse(m[1]!) as string, expected: m[2]! }));
      if (calls.length === 0) calls.push({ request: "hello", expected: `"..."` });
      for (const { request, expected } of calls) {
        const what = `${b.where}: call ${JSON.stringify(request)}`;
        if (expected.startsWith(`"`)) {
          const r = await t.host.call("docs", service, request).catch((err: Error) => {
            throw new Error(`${what} failed: ${err instanceof SoloError ? `${err.code}: ` : ""}${err.message}`);
          });
          assert.match(r.output, answerPattern(JSON.parse(expected) as string), what);
        } else {
          const err = await t.host.call("docs", service, request).then(() => undefined, (e: unknown) => e);
          assert.instance(err, SoloError, `${what} should fail with ${expected}`);
          assert.is((err as SoloError).code, expected, what);
        }
      }
    }
  } finally {
    await t.close();
  }
});

test.run();
