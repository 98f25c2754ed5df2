// docs/OPERATIONS.md: a flag given on the command line wins over its variable. --input,
// --input-file and --stdin say where a request comes from; one given on the command line wins
// over another's variable too (an exported SOLO_INPUT must not turn `--input-file` into a usage
// error), while two given on the command line still are one.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TEST_CACHE, test } from "../helpers.ts";
import { solo } from "./spawn.ts";

const dir = mkdtempSync(join(tmpdir(), "solo-cli-env-"));
const ECHO = join(ROOT, "examples", "echo.as.ts");
const env = { XDG_CACHE_HOME: join(TEST_CACHE, "xdg") };
writeFileSync(join(dir, "in.txt"), "from the file");

test("--input-file on the command line wins over SOLO_INPUT; --input wins over SOLO_INPUT_FILE and SOLO_STDIN", async () => {
  const [file, input] = await Promise.all([
    solo(["run", ECHO, "--input-file", join(dir, "in.txt")], { env: { ...env, SOLO_INPUT: "from the variable" } }),
    solo(["run", ECHO, "--input", "from the flag"], { env: { ...env, SOLO_INPUT_FILE: join(dir, "missing.txt"), SOLO_STDIN: "1" } }),
  ]);
  assert.is(file.code, 0, file.stderr);
  assert.is(file.stdout, "from the file\n");
  assert.is(input.code, 0, input.stderr);
  assert.is(input.stdout, "from the flag\n");
});

test("two request flags on the command line are still a usage error", async () => {
  const r = await solo(["run", ECHO, "--input", "a", "--input-file", join(dir, "in.txt")], { env });
  assert.is(r.code, 2);
  assert.match(r.stderr, /give --input or --input-file, not both/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
