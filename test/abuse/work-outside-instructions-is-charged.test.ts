// Work an instruction count does not see — bulk memory and table operations, host imports that
// decode or copy many bytes, WASI calls with huge buffers — is charged by its size before it runs,
// so it ends in FUEL_EXHAUSTED within the call's fuel instead of running until the deadline.
import * as assert from "uvu/assert";
import { fixture, test } from "../helpers.ts";
import { ABI, arena, attack, component, wasm } from "./hostile.ts";

/** A component whose handle runs `body` (then answers ""). */
const handler = (body: string, head = "", pages = 17) => `(module ${head} (memory (export "memory") ${pages}) ${ABI}
  (func (export "handle") (param i32 i32) (result i32) ${body} (i32.const 16)))`;

const SLOW = { fuel: 20_000_000, deadlineMs: 20_000 };

async function hostile(name: string, text: string) {
  return { tenant: "evil", service: name, source: await component(text), language: "component" as const, limits: SLOW };
}

test("memory.fill and memory.copy of 16 MiB in a loop: FUEL_EXHAUSTED, not the deadline", async () => {
  const a = await arena();
  try {
    await a.host.deploy(await hostile("fill", handler(`(loop $l (memory.fill (i32.const 0) (i32.const 7) (i32.const 16777216)) (br $l))`, "", 257)));
    await a.host.deploy(await hostile("copy", handler(`(loop $l (memory.copy (i32.const 0) (i32.const 8388608) (i32.const 8388608)) (br $l))`, "", 257)));
    for (const s of ["fill", "copy"]) {
      const e = await attack(a, (h) => h.call("evil", s, ""), "FUEL_EXHAUSTED", 15_000);
      assert.equal(e.details, { fuelLimit: SLOW.fuel });
    }
  } finally {
    await a.close();
  }
});

test("memory.init of a passive segment is charged by its length", async () => {
  const a = await arena();
  try {
    const data = `(data $d "${"x".repeat(65536)}")`;
    await a.host.deploy(await hostile("init", handler(`(loop $l (memory.init $d (i32.const 0) (i32.const 0) (i32.const 65536)) (br $l))`, "", 2).replace(ABI, ABI + data)));
    await attack(a, (h) => h.call("evil", "init", ""), "FUEL_EXHAUSTED", 15_000);
  } finally {
    await a.close();
  }
});

test("table.grow by millions is capped at the table limit and charged per entry", async () => {
  const a = await arena();
  try {
    // Each grow asks for a million entries: the capped table refuses (returns -1), and the charge
    // per entry asked ends the loop, long before the host's heap notices.
    const text = handler(`(loop $l (drop (table.grow $t (ref.null func) (i32.const 1000000))) (br $l))`, `(table $t 0 funcref)`);
    await a.host.deploy(await hostile("tables", text));
    await attack(a, (h) => h.call("evil", "tables", ""), "FUEL_EXHAUSTED", 15_000);
    // Within the cap, growing works as wasm says it should.
    const small = handler(`(if (i32.ne (table.grow $t (ref.null func) (i32.const 10)) (i32.const 0)) (then unreachable))`, `(table $t 0 funcref)`);
    await a.host.deploy({ ...(await hostile("small", small)), limits: { fuel: 1_000_000 } });
    assert.is((await a.host.call("evil", "small", "")).output, "");
  } finally {
    await a.close();
  }
});

test("a host import is charged by the bytes it decodes, before decoding them", async () => {
  const a = await arena();
  try {
    // log() with a 1 MiB message, forever: once only a unit, now ~1M units each.
    const text = handler(`(loop $l (call $log (i32.const 1) (i32.const 0) (i32.const 1048576)) (br $l))`, `(import "solo:agent/log@0.1.0" "log" (func $log (param i32 i32 i32)))`);
    await a.host.deploy(await hostile("log", text));
    await attack(a, (h) => h.call("evil", "log", ""), "FUEL_EXHAUSTED", 15_000);
    // kv.set with a 1 MiB key: charged, then refused by kv's own key limit (the guest sees invalid).
    const kv = handler(`(loop $l (call $set (i32.const 0) (i32.const 1048576) (i32.const 0) (i32.const 1048576) (i32.const 64)) (br $l))`, `(import "solo:agent/kv@0.1.0" "set" (func $set (param i32 i32 i32 i32 i32)))`);
    await a.host.deploy(await hostile("kv", kv));
    await attack(a, (h) => h.call("evil", "kv", ""), "FUEL_EXHAUSTED", 15_000);
  } finally {
    await a.close();
  }
});

test("pointers outside the guest's memory are the guest's fault: GUEST_TRAP, never INTERNAL", async () => {
  const a = await arena();
  try {
    await a.host.deploy(await hostile("badret", `(module (memory (export "memory") 1) ${ABI}
      (func (export "handle") (param i32 i32) (result i32) (i32.const -16)))`));
    assert.match((await attack(a, (h) => h.call("evil", "badret", ""), "GUEST_TRAP")).message, /outside its memory/);
    await a.host.deploy(await hostile("badlen", `(module (memory (export "memory") 1) ${ABI}
      (func (export "handle") (param i32 i32) (result i32)
        (i32.store8 (i32.const 16) (i32.const 0)) (i32.store (i32.const 20) (i32.const 100))
        (i32.store (i32.const 24) (i32.const 1000000)) (i32.const 16)))`));
    assert.match((await attack(a, (h) => h.call("evil", "badlen", ""), "GUEST_TRAP")).message, /outside its memory/);
    await a.host.deploy((await hostile("badret2", `(module (memory (export "memory") 1) ${ABI}
      (func (export "handle") (param i32 i32) (result i32)
        (i32.store8 (i32.const 16) (i32.const 0)) (i32.store (i32.const 20) (i32.const 65530))
        (i32.store (i32.const 24) (i32.const 100)) (i32.const 16)))`)));
    assert.match((await attack(a, (h) => h.call("evil", "badret2", ""), "GUEST_TRAP")).message, /outside its memory/);
    const logOut = handler(`(call $log (i32.const 3) (i32.const 65000) (i32.const 100000))`, `(import "solo:agent/log@0.1.0" "log" (func $log (param i32 i32 i32)))`, 1);
    await a.host.deploy(await hostile("badlog", logOut));
    assert.match((await attack(a, (h) => h.call("evil", "badlog", ""), "GUEST_TRAP")).message, /outside its memory/);
  } finally {
    await a.close();
  }
});

test("a call that works hard and then traps is charged its whole fuel limit, not the little its counter said", async () => {
  const a = await arena();
  try {
    // A million iterations, then a trap: the trap skips the loop's last write-back of the counter.
    const text = handler(`(local $i i32) (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000)))) unreachable`);
    await a.host.deploy({ ...(await hostile("trapper", text)), limits: { fuel: 50_000_000 } });
    await attack(a, (h) => h.call("evil", "trapper", ""), "GUEST_TRAP");
    assert.is(a.host.status("evil", "trapper").fuelUsed, 50_000_000);
  } finally {
    await a.close();
  }
});

test("a string argument too long for the host to hold traps (GUEST_TRAP), never INTERNAL", async () => {
  const a = await arena();
  try {
    // 80 MiB of memory, and kv.set asked to read a value of 70 MiB from it.
    const text = handler(`(drop (memory.grow (i32.const 1280))) (call $set (i32.const 0) (i32.const 1) (i32.const 64) (i32.const 73400320) (i32.const 32))`, `(import "solo:agent/kv@0.1.0" "set" (func $set (param i32 i32 i32 i32 i32)))`, 1);
    await a.host.deploy({ ...(await hostile("long", text)), limits: { fuel: 1_000_000_000, memoryBytes: 128 * 1024 * 1024 } });
    const e = await attack(a, (h) => h.call("evil", "long", ""), "GUEST_TRAP");
    assert.match(e.message, /over the host's limit/);
  } finally {
    await a.close();
  }
});

test("kv.keys is charged for every key it scans, not only for what it returns", async () => {
  const a = await arena();
  try {
    await a.host.deploy({ tenant: "evil", service: "keys", source: fixture("many-keys.as.ts"), language: "assemblyscript" });
    await a.host.call("evil", "keys", "scan"); // the first call also sets up the guest's runtime
    const empty = await a.host.call("evil", "keys", "scan");
    assert.is(empty.output, "0");
    assert.is((await a.host.call("evil", "keys", "fill 3000")).output, "ok");
    const full = await a.host.call("evil", "keys", "scan");
    assert.is(full.output, "0", "no key matches: the answer is as small as before");
    assert.ok(full.fuel - empty.fuel >= 3000, `scanning 3,000 keys cost ${full.fuel - empty.fuel} more units (${empty.fuel} -> ${full.fuel})`);
  } finally {
    await a.close();
  }
});

test("a javy module that declares a WASI function with another signature is refused", async () => {
  const a = await arena();
  try {
    // fd_write with an f64 count: the shim would read it as a number it never expected.
    const odd = await wasm(command(`(drop (call $write (i32.const 1) (i32.const 0) (f64.const 4294967296) (i32.const 8)))`,
      `(import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 f64 i32) (result i32)))`));
    const e = await attack(a, (h) => h.deploy({ tenant: "evil", service: "odd", source: odd, language: "javy" }), "VALIDATION_FAILED");
    assert.match(e.message, /fd_write.*WASI preview-1 declares it/);
  } finally {
    await a.close();
  }
});

/** A WASI command module (language "javy") whose _start runs `body`. */
const command = (body: string, imports: string) => `(module ${imports} (memory (export "memory") 257)
  (func (export "_start") ${body}))`;

test("WASI random_get and fd_write with huge buffers are charged by their size", async () => {
  const a = await arena();
  try {
    const random = await wasm(command(`(loop $l (drop (call $random (i32.const 0) (i32.const 16777216))) (br $l))`,
      `(import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))`));
    await a.host.deploy({ tenant: "evil", service: "random", source: random, language: "javy", limits: SLOW });
    await attack(a, (h) => h.call("evil", "random", ""), "FUEL_EXHAUSTED", 15_000);
    // One iovec of 16 MiB written to stdout again and again.
    const write = await wasm(command(`(i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 16777216))
      (loop $l (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br $l))`,
      `(import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))`));
    await a.host.deploy({ tenant: "evil", service: "write", source: write, language: "javy", limits: SLOW });
    await attack(a, (h) => h.call("evil", "write", ""), "FUEL_EXHAUSTED", 15_000);
    // A count of four billion iovecs is charged before one is read.
    const many = await wasm(command(`(drop (call $write (i32.const 1) (i32.const 0) (i32.const -1) (i32.const 8)))`,
      `(import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))`));
    await a.host.deploy({ tenant: "evil", service: "many", source: many, language: "javy", limits: SLOW });
    await attack(a, (h) => h.call("evil", "many", ""), "FUEL_EXHAUSTED", 15_000);
  } finally {
    await a.close();
  }
});

test.run();
