// When a worker must be replaced (a call or a start function past its deadline), only the work
// that was running fails: queued calls and deploys in flight complete on the replacement, every
// tenant's instance comes back with its committed kv, and a service whose re-creation keeps
// failing is marked failed instead of restarting the worker forever.
import * as assert from "uvu/assert";
import { example, rejects, test } from "../helpers.ts";
import { ABI, arena, attack, component, ECHO } from "./hostile.ts";

// Spins slowly for its fuel (a short fill costs one unit but takes ~10 ns), so the deadline, not
// the fuel, ends it however fast the machine is: 1e10 units last well over 20 s.
const SPIN = `(module (memory (export "memory") 1) ${ABI}
  (func (export "handle") (param i32 i32) (result i32)
    (loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 256)) (br $l)) (i32.const 16)))`;
const HOT = { fuel: 10_000_000_000, deadlineMs: 300 };

test("three runaway calls cost three restarts; the calls queued among them all answer, with committed kv", async () => {
  const a = await arena();
  try {
    await a.host.deploy({ tenant: "evil", service: "spin", source: await component(SPIN), language: "component", limits: HOT });
    await a.host.deploy({ tenant: "good", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" });
    assert.is((await a.host.call("good", "counter", "")).output, "1");
    const calls: Promise<unknown>[] = [];
    const outputs: string[] = [];
    for (let i = 0; i < 3; i++) {
      calls.push(rejects(a.host.call("evil", "spin", ""), "DEADLINE_EXCEEDED"));
      for (let k = 0; k < 3; k++) calls.push(a.host.call("good", "counter", "").then((r) => void outputs.push(r.output)));
    }
    await Promise.all(calls);
    assert.is(a.host.stats().workerRestarts, 3, "each runaway call was run once, never retried");
    assert.is(a.host.status("evil", "spin").fuelUsed, 3 * HOT.fuel, "each stopped call is charged its whole fuel limit");
    assert.equal(outputs.map(Number).sort((x, y) => x - y), [2, 3, 4, 5, 6, 7, 8, 9, 10], "no count lost or repeated");
    assert.is((await a.host.call("good", "counter", "")).output, "11");
    await a.good();
  } finally {
    await a.close();
  }
});

test("a deploy whose install waits behind a runaway call completes on the replacement worker", async () => {
  const a = await arena();
  try {
    await a.host.deploy({ tenant: "evil", service: "spin", source: await component(SPIN), language: "component", limits: { ...HOT, deadlineMs: 2_000 } });
    const echo = await component(ECHO.replace("(i32.const 1024)", "(i32.const 2048)")); // a new artifact
    const runaway = rejects(a.host.call("evil", "spin", ""), "DEADLINE_EXCEEDED");
    const deploy = a.host.deploy({ tenant: "late", service: "echo", source: echo, language: "component" });
    await runaway;
    const d = await deploy;
    assert.is(d.service, "echo");
    assert.is((await a.host.call("late", "echo", "made it")).output, "made it");
    await a.good();
  } finally {
    await a.close();
  }
});

test("a service whose start code hangs when re-created is marked failed, not restarted forever", async () => {
  // Its start function reads kv "hang" and spins if it is set; handle("set") sets it, handle("")
  // traps, so the next call re-creates the instance and the start function spins.
  const source = await component(`(module
    (import "solo:agent/kv@0.1.0" "get" (func $get (param i32 i32 i32)))
    (import "solo:agent/kv@0.1.0" "set" (func $set (param i32 i32 i32 i32 i32)))
    (memory (export "memory") 1) ${ABI}
    (data (i32.const 200) "hang1")
    (func $start
      (call $get (i32.const 200) (i32.const 4) (i32.const 300))
      (if (i32.eq (i32.load8_u (i32.const 304)) (i32.const 1)) (then (loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 256)) (br $l)))))
    (start $start)
    (func (export "handle") (param $p i32) (param $n i32) (result i32)
      (if (i32.eqz (local.get $n)) (then unreachable))
      (call $set (i32.const 200) (i32.const 4) (i32.const 204) (i32.const 1) (i32.const 320))
      (i32.store8 (i32.const 16) (i32.const 0)) (i32.store (i32.const 20) (i32.const 0)) (i32.store (i32.const 24) (i32.const 0))
      (i32.const 16)))`);
  // No isolated workers: a call stopped at its deadline also makes its tenant heavy, and a move
  // would re-create the hanging service on an isolated thread too (one more restart there, or
  // not, as the race with the shared worker's own re-creation goes). This counts the shared one.
  const a = await arena({ fairness: { isolatedWorkers: 0 } });
  try {
    await a.host.deploy({ tenant: "evil", service: "relapse", source, language: "component", limits: HOT });
    assert.is((await a.host.call("evil", "relapse", "set")).output, "");
    await rejects(a.host.call("evil", "relapse", ""), "GUEST_TRAP");
    await attack(a, (h) => h.call("evil", "relapse", "again"), "DEADLINE_EXCEEDED");
    // The replacement worker tries to re-create it once more; that hangs too, and it is given up.
    for (let i = 0; i < 100 && a.host.status("evil", "relapse").state !== "failed"; i++) await new Promise((r) => setTimeout(r, 50));
    const status = a.host.status("evil", "relapse");
    assert.is(status.state, "failed");
    assert.is(status.failure?.code, "DEADLINE_EXCEEDED");
    assert.match(status.failure!.message, /of 300 ms/, "the service whose start overran is re-created under its own deadline, not the host's floor");
    const e = await rejects(a.host.call("evil", "relapse", "x"), "UNAVAILABLE");
    assert.match(e.message, /kill it and deploy it again/);
    assert.is(a.host.stats().workerRestarts, 2);
    await a.good();
    const events = [];
    for await (const ev of a.host.events("evil", { type: "service_failed" })) events.push(ev);
    assert.is(events.length, 1);
  } finally {
    await a.close();
  }
});

// Start code that takes 400 ms once kv "slow" is set, by the clock (so as long however loaded the
// machine): more than its 200 ms deadline, which held at deploy, less than RECREATE_DEADLINE_MS.
const SLOW_START = `import { kv, clock } from "solo";
if (kv.get("slow") !== null) {
  const end = clock.monotonicNs() + 400_000_000;
  while (clock.monotonicNs() < end) {}
}
export function handle(request: string): string {
  if (request == "slow") return kv.set("slow", "1") ? "set" : "kv failed";
  return "ok";
}`;

test("a re-creation the host makes after replacing a worker gets at least RECREATE_DEADLINE_MS, so a loaded host does not lose a proven service", async () => {
  const a = await arena({ fairness: { isolatedWorkers: 0 } });
  try {
    await a.host.deploy({ tenant: "evil", service: "spin", source: await component(SPIN), language: "component", limits: HOT });
    await a.host.deploy({ tenant: "tight", service: "starter", source: SLOW_START, language: "assemblyscript", capabilities: ["kv", "clock"], limits: { fuel: 10_000_000_000, deadlineMs: 200 } });
    assert.is((await a.host.call("tight", "starter", "slow")).output, "set");
    await attack(a, (h) => h.call("evil", "spin", ""), "DEADLINE_EXCEEDED");
    // The replacement re-created it (its start took ~400 ms, past its own 200 ms): it answers.
    assert.is((await a.host.call("tight", "starter", "x")).output, "ok");
    assert.is(a.host.status("tight", "starter").state, "running");
    assert.is(a.host.stats().workerRestarts, 1, "the re-creation did not overrun and replace the thread again");
    await a.good();
  } finally {
    await a.close();
  }
});

test.run();
