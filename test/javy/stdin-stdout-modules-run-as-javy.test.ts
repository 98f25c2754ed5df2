import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, TEST_CACHE, openHost, rejects, test } from "../helpers.ts";
import { wat } from "../meter/wat.ts";

// The shape of a Javy module, built here from text: read all of stdin, write "javy says: " and
// the input to stdout. "exit" writes to stderr and exits 3; "open" tries path_open; "spin" loops.
const ECHO = wat(`(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "javy says: ")
  (func (export "_start") (local $total i32) (local $n i32) (local $word i32)
    (block $done (loop $more
      (i32.store (i32.const 100) (i32.add (i32.const 1024) (local.get $total)))
      (i32.store (i32.const 104) (i32.const 4096))
      (drop (call $fd_read (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200)))
      (local.set $n (i32.load (i32.const 200)))
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $total (i32.add (local.get $total) (local.get $n)))
      (br $more)))
    (local.set $word (select (i32.load (i32.const 1024)) (i32.const 0) (i32.eq (local.get $total) (i32.const 4))))
    (if (i32.eq (local.get $word) (i32.const 0x74697865)) ;; "exit"
      (then
        (i32.store (i32.const 300) (i32.const 1024)) (i32.store (i32.const 304) (i32.const 4))
        (drop (call $fd_write (i32.const 2) (i32.const 300) (i32.const 1) (i32.const 200)))
        (call $proc_exit (i32.const 3))))
    (if (i32.eq (local.get $word) (i32.const 0x6e65706f)) ;; "open": answer the errno as one digit pair
      (then
        (i32.store8 (i32.const 1024) (i32.add (i32.const 48) (i32.div_u (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 0)) (i32.const 10))))
        (i32.store8 (i32.const 1025) (i32.const 50))
        (local.set $total (i32.const 2))))
    (if (i32.eq (local.get $word) (i32.const 0x6e697073)) ;; "spin"
      (then (loop $forever (br $forever))))
    (i32.store (i32.const 300) (i32.const 0)) (i32.store (i32.const 304) (i32.const 11))
    (i32.store (i32.const 308) (i32.const 1024)) (i32.store (i32.const 312) (local.get $total))
    (drop (call $fd_write (i32.const 1) (i32.const 300) (i32.const 2) (i32.const 200))))
)`);

test("a stdin/stdout WASI module runs as javy: the request is stdin, the reply stdout", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "js", source: ECHO, language: "javy" });
    const r = await t.host.call("a", "js", "héllo");
    assert.is(r.output, "javy says: héllo");
    assert.ok(r.fuel > 0);
    assert.is((await t.host.call("a", "js", "héllo")).fuel, r.fuel, "same input, same fuel");
    const e = await rejects(t.host.call("a", "js", "exit"), "GUEST_ERROR");
    assert.is(e.message, "exit");
    assert.equal(e.details, { exitCode: 3 });
    assert.is((await t.host.call("a", "js", "open")).output, "javy says: 52", "path_open answers ENOSYS (52)");
    await t.host.deploy({ tenant: "a", service: "spin", source: ECHO, language: "javy", limits: { fuel: 1_000_000 } });
    await rejects(t.host.call("a", "spin", "spin"), "FUEL_EXHAUSTED");
    assert.is((await t.host.call("a", "js", "still")).output, "javy says: still");
  } finally {
    await t.close();
  }
});

test("a javy module importing anything but WASI is refused; so is a component given as javy", async () => {
  const t = await openHost();
  try {
    const foreign = wat(`(module (import "env" "system" (func (param i32))) (memory (export "memory") 1) (func (export "_start")))`);
    const e = await rejects(t.host.deploy({ tenant: "a", service: "x", source: foreign, language: "javy" }), "VALIDATION_FAILED");
    assert.match(e.message, /env#system/);
    const noStart = wat(`(module (memory (export "memory") 1))`);
    await rejects(t.host.deploy({ tenant: "a", service: "y", source: noStart, language: "javy" }), "VALIDATION_FAILED");
  } finally {
    await t.close();
  }
});

test("compiler: javy without a javy binary is UNAVAILABLE and says how to get one", async () => {
  const saved = { JAVY_PATH: process.env.JAVY_PATH, PATH: process.env.PATH };
  process.env.JAVY_PATH = "/nonexistent/javy";
  const t = await openHost();
  try {
    const e = await rejects(t.host.deploy({ tenant: "a", service: "j", source: "export function handle(r) { return r; }", language: "javascript", compiler: "javy" }), "UNAVAILABLE");
    assert.match(e.message, /install the javy CLI/);
  } finally {
    await t.close();
    process.env.JAVY_PATH = saved.JAVY_PATH;
    if (saved.JAVY_PATH === undefined) delete process.env.JAVY_PATH;
  }
});

test("compiler: javy runs the javy binary named by JAVY_PATH and deploys what it builds", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-fake-javy-"));
  const saved = process.env.JAVY_PATH;
  // A stand-in with javy's command line (`javy build -o OUT IN`) that "builds" the module above.
  writeFileSync(join(dir, "built.wasm"), ECHO);
  writeFileSync(join(dir, "javy"), `#!/bin/sh\n[ "$1" = build ] && [ "$2" = -o ] && [ -f "$4" ] && cp "${join(dir, "built.wasm")}" "$3"\n`, { mode: 0o755 });
  process.env.JAVY_PATH = join(dir, "javy");
  const t = await openHost();
  try {
    const d = await t.host.deploy({ tenant: "a", service: "jv", source: `export function handle(r) { return r; } // ${Date.now()}`, language: "javascript", compiler: "javy" });
    assert.equal(d.interfaces, ["wasi-stdio"]);
    assert.is((await t.host.call("a", "jv", "built")).output, "javy says: built");
  } finally {
    await t.close();
    if (saved === undefined) delete process.env.JAVY_PATH;
    else process.env.JAVY_PATH = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("solo run takes a core-module .wasm as a javy guest", () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-javy-cli-"));
  try {
    writeFileSync(join(dir, "echo.wasm"), ECHO);
    const r = spawnSync(process.execPath, [join(ROOT, "bin", "solo.mjs"), "run", join(dir, "echo.wasm"), "--input", "cli", "--json"], { encoding: "utf8", env: { ...process.env, XDG_CACHE_HOME: join(TEST_CACHE, "xdg") } });
    assert.is(r.status, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).output, "javy says: cli");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
