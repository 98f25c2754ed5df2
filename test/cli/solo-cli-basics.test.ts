// What every `solo` command shows a user before it does any work: --version, --help on every
// command with a SOLO_* variable per flag, variables that set flags (a flag wins), and a file
// that cannot be read as one short line with exit 2. Run as a user runs it: bin/solo.mjs.
import * as assert from "uvu/assert";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TEST_CACHE, test } from "../helpers.ts";
import { program } from "../../host/cli/index.ts";
import { solo as soloIn, type Result } from "./spawn.ts";

const cwd = mkdtempSync(join(tmpdir(), "solo-cli-basics-"));
const env = { XDG_CACHE_HOME: join(TEST_CACHE, "xdg") };
const solo = (args: string[], extra: Record<string, string> = {}, input?: string) => soloIn(args, { cwd, env: { ...env, ...extra }, ...(input !== undefined && { input }) });
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const LOOP = join(ROOT, "test", "fixtures", "loop.as.ts");

/** Every command path of the program, e.g. ["token", "grant"], and the flags each takes. */
function commands(): { path: string[]; flags: string[] }[] {
  const out: { path: string[]; flags: string[] }[] = [];
  const walk = (cmd: ReturnType<typeof program>, path: string[]) => {
    for (const sub of cmd.commands) {
      const p = [...path, sub.name()];
      out.push({ path: p, flags: sub.options.map((o) => o.long!).filter(Boolean) });
      walk(sub, p);
    }
  };
  walk(program(() => {}), []);
  return out;
}

/** The help's option entries, each joined onto one line: "--fuel <n> fuel units ... (env: SOLO_FUEL)". */
function optionEntries(help: string): string[] {
  const section = help.slice(help.indexOf("Options:"));
  const entries: string[] = [];
  for (const line of section.split("\n").slice(1)) {
    if (/^\s{2}-/.test(line)) entries.push(line.trim());
    else if (/^\s{3,}\S/.test(line) && entries.length) entries[entries.length - 1] += " " + line.trim();
    else if (line.trim() === "" || !/^\s/.test(line)) break;
  }
  return entries;
}

test("--version and -V print package.json's version and exit 0", async () => {
  for (const flag of ["--version", "-V"]) {
    const r = await solo([flag]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `${VERSION}\n`);
    assert.is(r.stderr, "");
  }
});

test("every command has --help (exit 0, its usage line) and every flag names its SOLO_* variable", async () => {
  const all = commands();
  assert.ok(all.length >= 25, `only ${all.length} commands found`);
  const helps: Result[] = [];
  // A few at a time: each is a process.
  for (let i = 0; i < all.length; i += 4) helps.push(...(await Promise.all(all.slice(i, i + 4).map((c) => solo([...c.path, "--help"])))));
  all.forEach((c, i) => {
    const r = helps[i]!;
    const name = `solo ${c.path.join(" ")}`;
    assert.is(r.code, 0, `${name} --help: ${r.stderr}`);
    assert.ok(r.stdout.startsWith(`Usage: ${name}`), `${name} --help starts: ${r.stdout.slice(0, 80)}`);
    const entries = optionEntries(r.stdout);
    for (const flag of c.flags) {
      const entry = entries.find((e) => e.split(/[ ,]/).includes(flag));
      assert.ok(entry, `${name} --help lists ${flag}`);
      const variable = `SOLO_${flag.slice(2).replace(/-/g, "_").toUpperCase()}`;
      assert.match(entry!.replace(/\s+/g, " "), new RegExp(`env: ${variable}(=1)?\\)`), `${name} ${flag}: ${entry}`);
    }
  });
});

test("SOLO_* variables set flags; a flag on the command line wins over its variable", async () => {
  const [fromEnv, flagWins, jsonEnv, jsonOff] = await Promise.all([
    solo(["run", LOOP], { SOLO_FUEL: "100000", SOLO_JSON: "1" }),
    solo(["run", LOOP, "--fuel", "200000", "--json"], { SOLO_FUEL: "100000" }),
    solo(["validate", join(ROOT, "examples", "echo.as.ts")], { SOLO_JSON: "true" }),
    solo(["validate", join(ROOT, "examples", "echo.as.ts")], { SOLO_JSON: "0" }),
  ]);
  assert.is(fromEnv.code, 1, fromEnv.stderr);
  assert.equal(JSON.parse(fromEnv.stdout).error.details, { fuelLimit: 100000 });
  assert.is(flagWins.code, 1, flagWins.stderr);
  assert.equal(JSON.parse(flagWins.stdout).error.details, { fuelLimit: 200000 });
  assert.is(jsonEnv.code, 0, jsonEnv.stderr);
  assert.equal(JSON.parse(jsonEnv.stdout), { ok: true, findings: [] });
  assert.is(jsonOff.stdout, "echo.as.ts: no findings\n");
});

test("an on/off variable that is not 1 or 0 is a usage error naming it (exit 2)", async () => {
  const r = await solo(["validate", join(ROOT, "examples", "echo.as.ts")], { SOLO_JSON: "maybe" });
  assert.is(r.code, 2);
  assert.match(r.stderr, /SOLO_JSON must be 1 or 0/);
  assert.is(r.stdout, "");
});

test("a variable satisfies a required flag of a verb run from source (SOLO_TENANT for deploy --tenant)", async () => {
  const r = await solo(["deploy", join(cwd, "absent.as.ts")], { SOLO_TENANT: "demo" });
  // Past the required flag: the file is what is missing now.
  assert.is(r.code, 2);
  assert.is(r.stderr, `NOT_FOUND: cannot read ${join(cwd, "absent.as.ts")}: no such file\n`);
});

test("a missing file is one short line naming it, exit 2, no usage; --json prints its JSON error", async () => {
  const missing = join(cwd, "missing.as.ts");
  writeFileSync(join(cwd, "echo.as.ts"), readFileSync(join(ROOT, "examples", "echo.as.ts")));
  const [run, validate, deploy, inputFile, json] = await Promise.all([
    solo(["run", missing]),
    solo(["validate", missing]),
    solo(["deploy", missing, "--tenant", "demo"]),
    solo(["run", join(cwd, "echo.as.ts"), "--input-file", join(cwd, "no-input.txt")]),
    solo(["run", missing, "--json"]),
  ]);
  for (const [r, file] of [[run, missing], [validate, missing], [deploy, missing], [inputFile, join(cwd, "no-input.txt")]] as const) {
    assert.is(r.code, 2, r.stderr);
    assert.is(r.stderr, `NOT_FOUND: cannot read ${file}: no such file\n`);
    assert.is(r.stdout, "");
  }
  assert.is(json.code, 2);
  assert.equal(JSON.parse(json.stdout), { error: { code: "NOT_FOUND", message: `cannot read ${missing}: no such file`, details: { file: missing } } });
  const dir = await solo(["validate", cwd]);
  assert.is(dir.code, 2);
  assert.ok(dir.stderr.startsWith(`INVALID_ARGUMENT: cannot read ${cwd}: it is a directory`), dir.stderr);
});

test("the prebuilt CLI and the sources answer alike (SOLO_NO_PREBUILT=1)", async () => {
  const args = ["validate", join(ROOT, "examples", "echo.as.ts"), "--json"];
  const [quick, source] = await Promise.all([solo(args), solo(args, { SOLO_NO_PREBUILT: "1" })]);
  assert.is(quick.code, 0, quick.stderr);
  assert.is(source.code, 0, source.stderr);
  assert.is(quick.stdout, source.stdout);
  const manifest = JSON.parse(readFileSync(join(ROOT, ".solo-cache", "cli", "manifest.json"), "utf8")) as { inputs: Record<string, string> };
  assert.ok("host/cli/index.ts" in manifest.inputs && "host/runtime/worker.ts" in manifest.inputs, "the bundle lists its sources");
  // The client verbs bring the wire format and certificates; the server itself stays out.
  const server = (f: string) => f === "host/host.ts" || f === "host/cli/start.ts" || /^host\/api\/.*-server\.ts$|^host\/api\/server\.ts$/.test(f) || /^host\/(events|vault|governance|telemetry)\//.test(f) || /^host\/services\/(supervisor|registry|recovery|swap)\.ts$/.test(f);
  assert.equal(Object.keys(manifest.inputs).filter(server), [], "the server side is not in it");
});

test("a prebuilt copy missing a file, or changed since it was made, is made again instead of loaded", async () => {
  const MANIFEST = join(ROOT, ".solo-cache", "cli", "manifest.json");
  const build = () => (JSON.parse(readFileSync(MANIFEST, "utf8")) as { build: string }).build;
  const help = async () => {
    const r = await solo(["run", "--help"]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: solo run/);
  };
  await help();
  const first = build();
  // Gone: before, every quick verb died with ERR_MODULE_NOT_FOUND until .solo-cache was removed.
  unlinkSync(join(ROOT, ".solo-cache", "cli", first, "index.js"));
  await help();
  const second = build();
  assert.is.not(second, first, "made again");
  // Changed: a copy that no longer is what was made is not run.
  appendFileSync(join(ROOT, ".solo-cache", "cli", second, "index.js"), "\nthrow new Error(\"not what was built\");\n");
  await help();
  assert.is.not(build(), second, "made again");
});

test.after(() => rmSync(cwd, { recursive: true, force: true }));

test.run();
