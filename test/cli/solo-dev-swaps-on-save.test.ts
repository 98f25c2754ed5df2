// `solo dev` against one real `solo start`: it deploys the file, swaps it in on each save that
// changes it, prints a save that does not build as FILE:LINE:COLUMN while the running version
// answers on, streams the service's log lines and events, and ends with exit 0 on Ctrl-C, the
// service left deployed. Run again on a service that exists, it swaps at start (or does nothing if
// the file is what runs). `solo logs --follow` prints the kept lines, then one logged after it
// started.
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TEST_CACHE, test } from "../helpers.ts";
import { SOLO, solo as soloIn, startSolo, type Started } from "./spawn.ts";

const dir = mkdtempSync(join(tmpdir(), "solo-dev-"));
const dataDir = join(dir, "data");
const FILE = join(dir, "svc.ts");
const guest = (tag: string) => `import { log } from "solo";\nexport function handle(request: string): string {\n  log.info(request);\n  return "${tag}: " + request;\n}\n`;
// The error is on line 3: "return" with nothing after "+".
const BROKEN = `import { log } from "solo";\nexport function handle(request: string): string {\n  return "v3: " +;\n}\n`;
let server: Started;
let env: Record<string, string>;
const solo = (...args: string[]) => soloIn(args, { env });
const children: ChildProcess[] = [];

/** `solo dev ARGS` as a child process; `until(re)` waits for its output (stdout + stderr) to match. */
const dev = (args: string[]) => running(["dev", ...args]);

/** `solo ARGS` left running (dev, logs --follow). */
function running(args: string[]) {
  const child = spawn(process.execPath, [SOLO, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
  children.push(child);
  let stdout = "";
  let stderr = "";
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  child.stdout!.setEncoding("utf8").on("data", (d: string) => ((stdout += d), wake()));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => ((stderr += d), wake()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => (resolve(code), wake())));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    /** Resolves with the match once the output matches; rejects if the process exits first. A guard of two minutes only keeps a hang from blocking the run. */
    until(re: RegExp): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        const guard = setTimeout(() => reject(new Error(`solo ${args[0]} printed no ${re} in 120 s; stdout: ${stdout}\nstderr: ${stderr}`)), 120_000);
        const check = () => {
          const m = (stdout + "\n" + stderr).match(re);
          if (m) return clearTimeout(guard), resolve(m);
          if (exitCode !== undefined) return clearTimeout(guard), reject(new Error(`solo ${args[0]} exited (${exitCode}) before printing ${re}; stdout: ${stdout}\nstderr: ${stderr}`));
          waiters.push(check);
        };
        check();
      });
    },
    /** Ctrl-C; answers the exit code. */
    interrupt(): Promise<number | null> {
      child.kill("SIGINT");
      return exited;
    },
  };
}

test.before(async () => {
  server = await startSolo(["--data", dataDir, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1", "--cache", TEST_CACHE]);
  env = { SOLO_SERVER: server.ready.grpc, SOLO_DATA: dataDir, SOLO_TOKEN: "" };
});

test("solo dev: v1 deployed, a save swaps in v2, a broken save prints FILE:3:COL and v2 answers on; the same content again does nothing; Ctrl-C exits 0 and leaves it deployed", async () => {
  writeFileSync(FILE, guest("v1"));
  const d = dev([FILE, "--tenant", "demo", "--service", "svc"]);
  await d.until(/^solo dev: watching .*svc\.ts for demo\/svc/m);
  await d.until(/^\d\d:\d\d:\d\d deployed demo\/svc version 1 \(typescript, capabilities clock,kv,log,random\)$/m);
  assert.is((await solo("call", "demo", "svc", "hi")).stdout, "v1: hi\n");
  // The call's log line, as dev prints it.
  await d.until(/^\d\d:\d\d:\d\d log info hi$/m);

  writeFileSync(FILE, guest("v2"));
  await d.until(/^\d\d:\d\d:\d\d swapped demo\/svc to version 2 \(from 1\) in \d+\.\d ms$/m);
  assert.is((await solo("call", "demo", "svc", "hi")).stdout, "v2: hi\n");
  // The service's events, one line each: its deploy and the swap.
  await d.until(/^\d\d:\d\d:\d\d event service_deployed version=1 artifact=[0-9a-f]{12} language=typescript /m);
  await d.until(/^\d\d:\d\d:\d\d event hot_swap_succeeded fromVersion=1 toVersion=2 /m);

  // The same content saved again, then a broken file: one build (of the broken one) and no swap.
  writeFileSync(FILE, guest("v2"));
  writeFileSync(FILE, BROKEN);
  const [line] = await d.until(new RegExp(`^${FILE.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):(\\d+): .+$`, "m"));
  assert.match(line, /:3:\d+: Unexpected ";"$/, "the guest's own line and column");
  await d.until(/^\d\d:\d\d:\d\d COMPILE_ERROR: not deployed; version 2 serves on$/m);
  const [call, versions] = await Promise.all([solo("call", "demo", "svc", "hi"), solo("versions", "demo", "svc", "--json")]);
  assert.is(call.stdout, "v2: hi\n", "the running version answers on");
  assert.equal(JSON.parse(versions.stdout).map((v: { version: number }) => v.version), [1, 2], "no version for the same content or the broken file");
  assert.is(d.stdout().match(/ swapped /g)?.length, 1);

  assert.is(await d.interrupt(), 0, d.stderr());
  const status = await solo("status", "demo", "svc", "--json");
  assert.is(JSON.parse(status.stdout).state, "running");
  assert.is(JSON.parse(status.stdout).version, 2);
});

test("solo logs --follow prints the kept lines, then a line logged after it started; Ctrl-C exits 0; --tail 1 --json prints the last one", async () => {
  const l = running(["logs", "demo", "svc", "--follow"]);
  // A kept line printed means the stream is open: what is logged from now on follows.
  await l.until(/^\d{4}-\d\d-\d\dT[\d:.]+Z demo\/svc info hi$/m);
  await solo("call", "demo", "svc", "later");
  await l.until(/^\S+ demo\/svc info later$/m);
  assert.is(await l.interrupt(), 0, l.stderr());

  const last = await solo("logs", "demo", "svc", "--tail", "1", "--json");
  assert.is(last.code, 0, last.stderr);
  const line = JSON.parse(last.stdout);
  assert.equal({ tenant: line.tenant, service: line.service, level: line.level, message: line.message }, { tenant: "demo", service: "svc", level: "info", message: "later" });
  const bad = await solo("logs", "demo", "svc", "--tail", "x");
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--tail must be a whole number/);
});

test("solo dev on a service that exists swaps at start (--json lines); a file that already runs is left as it is", async () => {
  writeFileSync(FILE, guest("v3"));
  const d = dev([FILE, "--tenant", "demo", "--service", "svc", "--json"]);
  const [swapped] = await d.until(/^\{"kind":"swapped".*$/m);
  const r = JSON.parse(swapped).result;
  assert.is(r.version, 3);
  assert.is(r.previousVersion, 2);
  const [event] = await d.until(/^\{"kind":"event","event":\{.*"type":"hot_swap_succeeded".*$/m);
  assert.is(JSON.parse(event).event.data.toVersion, 3);
  assert.is((await solo("call", "demo", "svc", "hi")).stdout, "v3: hi\n");
  assert.is(await d.interrupt(), 0, d.stderr());
  for (const l of d.stdout().trim().split("\n")) assert.type(JSON.parse(l).kind, "string", `every line is JSON with a kind: ${l}`);

  const again = dev([FILE, "--tenant", "demo", "--service", "svc"]);
  await again.until(/^\d\d:\d\d:\d\d demo\/svc version 3 already runs .*svc\.ts$/m);
  assert.is(await again.interrupt(), 0, again.stderr());
  const versions = await solo("versions", "demo", "svc", "--json");
  assert.is(JSON.parse(versions.stdout).length, 3);
});

test("solo dev refuses what cannot work before it watches: a missing file (exit 2), a tenant name the server refuses (exit 1)", async () => {
  const [missing, bad] = await Promise.all([
    solo("dev", join(dir, "nope.ts"), "--tenant", "demo"),
    solo("dev", FILE, "--tenant", "Not A Tenant", "--json"),
  ]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /cannot read .*nope\.ts/);
  assert.is(bad.code, 1, bad.stderr);
  const lines = bad.stdout.trim().split("\n");
  assert.is(JSON.parse(lines[lines.length - 1]!).error.code, "INVALID_ARGUMENT");
});

test.after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  if (server) assert.is(await server.stop(), 0);
  rmSync(dir, { recursive: true, force: true });
});

test.run();
