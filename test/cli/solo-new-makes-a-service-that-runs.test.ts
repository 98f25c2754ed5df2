// `solo new NAME [--lang ts|as|js]`: the folder it makes runs as it is. For each language: the
// guest answers through `solo run`, and the test it wrote passes under `node --test`. A folder
// that is not empty is refused (ALREADY_EXISTS, exit 2) and left as it was.
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_CACHE, test } from "../helpers.ts";
import { SOLO, node, solo, type Result } from "./spawn.ts";

const cwd = mkdtempSync(join(tmpdir(), "solo-new-"));
// `solo run` keeps compiled artifacts in the user's cache: the tests' shared one here.
const env = { XDG_CACHE_HOME: join(TEST_CACHE, "xdg") };

/** `node --test` in DIR, with SOLO naming this checkout's command (the generated test's way to find it). */
function nodeTest(dir: string): Promise<Result> {
  return node(["--test", "--test-reporter=tap"], { cwd: dir, env: { ...env, SOLO } });
}

const CASES = [
  { lang: undefined, name: "hello-ts", file: "service.ts" }, // the default language
  { lang: "as", name: "hello-as", file: "service.as.ts" },
  { lang: "js", name: "hello-js", file: "service.js" },
] as const;

// Each language's steps in order; the three languages side by side (each `solo run` is a process
// with its own host and builder, mostly waiting on them).
const made = CASES.map(async (c) => {
  const created = await solo(["new", c.name, ...(c.lang ? ["--lang", c.lang] : [])], { cwd, env });
  const ran = created.code === 0 ? await solo(["run", join(c.name, c.file), "--input", "hi", "--json"], { cwd, env }) : undefined;
  const tested = created.code === 0 ? await nodeTest(join(cwd, c.name)) : undefined;
  return { created, ran, tested };
});

for (const [i, c] of CASES.entries()) {
  test(`solo new ${c.name}${c.lang ? ` --lang ${c.lang}` : " (TypeScript by default)"}: ${c.file}, its test and a README; solo run answers "echo: hi"; node --test passes`, async () => {
    const { created, ran, tested } = await made[i]!;
    assert.is(created.code, 0, created.stderr);
    assert.equal(readdirSync(join(cwd, c.name)).sort(), ["README.md", c.file, "service.test.mjs"].sort());
    assert.match(created.stdout, `solo run ${join(c.name, c.file)} --input hi`);
    const readme = readFileSync(join(cwd, c.name, "README.md"), "utf8");
    assert.is(readme.trimEnd().split("\n").length, 3, readme);
    assert.match(readme, `--service ${c.name}`);
    assert.match(readFileSync(join(cwd, c.name, c.file), "utf8"), /from "solo"/);

    assert.is(ran!.code, 0, ran!.stderr);
    const reply = JSON.parse(ran!.stdout.trim());
    assert.is(reply.output, "echo: hi");
    assert.match(ran!.stderr, /call 1: hi/, "the guest's log line, on stderr");

    assert.is(tested!.code, 0, tested!.stdout + tested!.stderr);
    assert.match(tested!.stdout, /^# pass 1$/m);
    assert.match(tested!.stdout, /^# fail 0$/m);
  });
}

test("solo new refuses a folder that is not empty (ALREADY_EXISTS, exit 2) and changes nothing; an empty one is used", async () => {
  mkdirSync(join(cwd, "taken"));
  writeFileSync(join(cwd, "taken", "notes.txt"), "mine");
  mkdirSync(join(cwd, "empty"));
  const [taken, json, empty, lang, name] = await Promise.all([
    solo(["new", "taken"], { cwd, env }),
    solo(["new", "taken", "--lang", "js", "--json"], { cwd, env }),
    solo(["new", "empty", "--lang", "as"], { cwd, env }),
    solo(["new", "other", "--lang", "rust"], { cwd, env }),
    solo(["new", "Not_A_Name"], { cwd, env }),
  ]);
  assert.is(taken.code, 2);
  assert.is(taken.stdout, "");
  assert.match(taken.stderr, /^ALREADY_EXISTS: taken exists and is not empty; pick another NAME or empty the folder\n$/);
  assert.is(json.code, 2);
  assert.is(JSON.parse(json.stdout.trim()).error.code, "ALREADY_EXISTS");
  assert.equal(readdirSync(join(cwd, "taken")), ["notes.txt"]);
  assert.is(readFileSync(join(cwd, "taken", "notes.txt"), "utf8"), "mine");

  assert.is(empty.code, 0, empty.stderr);
  assert.ok(existsSync(join(cwd, "empty", "service.as.ts")));

  assert.is(lang.code, 2);
  assert.match(lang.stderr, /--lang must be ts \(TypeScript\), as \(AssemblyScript\) or js \(JavaScript\)/);
  assert.match(lang.stderr, /Usage: solo new/);
  assert.not.ok(existsSync(join(cwd, "other")));
  assert.is(name.code, 2);
  assert.match(name.stderr, /the service's name and must match/);
  assert.not.ok(existsSync(join(cwd, "Not_A_Name")));
});

test.after(async () => {
  await Promise.allSettled(made);
  rmSync(cwd, { recursive: true, force: true });
});

test.run();
