// A module's start function and its instantiation are guest work like any call: they run with the
// service's own fuel, memory budget and deadline, on the worker, never before the limits are set.
import * as assert from "uvu/assert";
import { test } from "../helpers.ts";
import { ABI, arena, attack, component } from "./hostile.ts";

const withStart = (start: string, extra = "") => `(module (memory (export "memory") 1) ${ABI}
  (func (export "handle") (param i32 i32) (result i32) (i32.const 16))
  (func $start ${start}) (start $start) ${extra})`;

test("a start function that loops forever ends with FUEL_EXHAUSTED at deploy", async () => {
  const a = await arena();
  try {
    const source = await component(withStart(`(loop $l (br $l))`));
    const e = await attack(a, (h) => h.deploy({ tenant: "evil", service: "spin", source, language: "component", limits: { fuel: 10_000_000 } }), "FUEL_EXHAUSTED");
    assert.match(e.message, /to start/);
    assert.equal(a.host.list("evil"), []);
  } finally {
    await a.close();
  }
});

test("a start function with fuel to spare is stopped by the deadline, and the worker's other tenants carry on", async () => {
  const a = await arena();
  try {
    // A slow spin (a short fill: one unit, ~10 ns), so the deadline comes first on any machine.
    const source = await component(withStart(`(loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 256)) (br $l))`));
    const e = await attack(a, (h) => h.deploy({ tenant: "evil", service: "spin", source, language: "component", limits: { fuel: 10_000_000_000, deadlineMs: 300 } }), "DEADLINE_EXCEEDED");
    assert.match(e.message, /starting the service/);
    assert.is(a.host.stats().workerRestarts, 1);
  } finally {
    await a.close();
  }
});

test("a start function cannot grow memory past the service's limit", async () => {
  const a = await arena();
  try {
    // 1 GiB in one grow, before the old host had set any limit.
    const source = await component(withStart(`(drop (memory.grow (i32.const 16383)))`));
    const e = await attack(a, (h) => h.deploy({ tenant: "evil", service: "grow", source, language: "component", limits: { memoryBytes: 32 * 1024 * 1024 } }), "MEMORY_LIMIT");
    assert.match(e.message, /while starting/);
  } finally {
    await a.close();
  }
});

test("instantiation is charged: a large data segment costs fuel before any code runs", async () => {
  const a = await arena();
  try {
    const data = `(data (i32.const 4096) "${"\\00".repeat(60_000)}")`;
    const source = await component(withStart(`nop`, data));
    await attack(a, (h) => h.deploy({ tenant: "evil", service: "data", source, language: "component", limits: { fuel: 5_000 } }), "FUEL_EXHAUSTED");
    // With enough fuel the same module deploys: the charge is ~1 unit per 8 bytes.
    await a.host.deploy({ tenant: "evil", service: "data", source, language: "component", limits: { fuel: 100_000 } });
    assert.is((await a.host.call("evil", "data", "")).output, "");
  } finally {
    await a.close();
  }
});

test("a start function may use the world's imports, charged to its fuel", async () => {
  // Logging a 1 MiB message in a loop from the start function: each call is charged by its size.
  const a = await arena();
  try {
    const source = await component(`(module
      (import "solo:agent/log@0.1.0" "log" (func $log (param i32 i32 i32)))
      (memory (export "memory") 17) ${ABI}
      (func (export "handle") (param i32 i32) (result i32) (i32.const 16))
      (func $start (loop $l (call $log (i32.const 1) (i32.const 0) (i32.const 1048576)) (br $l)))
      (start $start))`);
    await attack(a, (h) => h.deploy({ tenant: "evil", service: "chatty", source, language: "component", limits: { fuel: 50_000_000 } }), "FUEL_EXHAUSTED");
  } finally {
    await a.close();
  }
});

test.run();
