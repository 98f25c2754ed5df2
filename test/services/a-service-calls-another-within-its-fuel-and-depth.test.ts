// services.call between the services of one tenant: answers, refusals, cycles and depth, fuel
// charged to the caller, a trapping callee, and a callee's kv writes that outlive its caller's failure.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, openHost, rejects, test, type TestHost } from "../helpers.ts";
import { NODE, TS_CALLER, eventsOf } from "./guests.ts";

let t: TestHost;
const deploy = (tenant: string, service: string, capabilities: string[], limits?: { fuel?: number }) =>
  t.host.deploy({ tenant, service, source: NODE, language: "assemblyscript", capabilities: ["log", "kv", ...capabilities], ...(limits ? { limits } : {}) });
const ask = async (tenant: string, service: string, request: string) => (await t.host.call(tenant, service, request)).output;

test.before(async () => {
  t = await openHost();
});
test.after(async () => {
  await t.close();
});

test("A calls B and gets B's answer; a TypeScript caller gets it too; B counts the calls", async () => {
  await deploy("t1", "b", []);
  await deploy("t1", "a", ["call:b"]);
  await t.host.deploy({ tenant: "t1", service: "ts", source: TS_CALLER, language: "typescript", capabilities: ["call:b", "emit"] });
  assert.is(await ask("t1", "a", "call:b:hi"), "echo hi");
  assert.is(await ask("t1", "ts", "b:set:color:blue"), "ts got set color");
  assert.is(await ask("t1", "a", "call:b:get:color"), "blue", "B's state is B's, whoever calls it");
  assert.is(t.host.status("t1", "b").calls, 3);
  assert.is(t.host.status("t1", "b").fuelUsed, 0, "the callers paid for B's work");
  // A TypeScript caller sees a WIT error as a thrown Error starting with the case.
  assert.is(await ask("t1", "ts", "nosuch:hi"), "ts caught access-denied: calling service \"nosuch\" is not granted to this service; deploy it with capability \"call:nosuch\"");
});

test("a caller without call:B gets access-denied, B never runs, and the refusal is recorded", async () => {
  await deploy("t2", "b", []);
  await deploy("t2", "c", []);
  assert.is(await ask("t2", "c", "call:b:hi"), 'access-denied: calling service "b" is not granted to this service; deploy it with capability "call:b"');
  assert.is(t.host.status("t2", "b").calls, 0);
  const denied = await eventsOf(t.host, "t2", "capability_denied", "c");
  assert.equal(denied.map((e) => e.data.capability), ["call:b"]);
  // call:b on a service that is not deployed: not-found, not a hang or a crash.
  await deploy("t2", "d", ["call:ghost"]);
  assert.match(await ask("t2", "d", "call:ghost:hi"), /^not-found: service ghost is not running in tenant t2/);
});

test("A -> B -> A and A -> A end at once in limit-exceeded showing the path", async () => {
  await deploy("t3", "a", ["call:a", "call:b"]);
  await deploy("t3", "b", ["call:a"]);
  assert.match(await ask("t3", "a", "call:b:call:a:hi"), /^limit-exceeded: call cycle: a -> b -> a;/);
  assert.match(await ask("t3", "a", "call:a:hi"), /^limit-exceeded: call cycle: a -> a;/);
  // Through b's answer the cycle error reached a as plain text: a and b both go on serving.
  assert.is(await ask("t3", "a", "call:b:hi"), "echo hi");
});

test("a chain of 8 services answers; a 9th is limit-exceeded naming all nine", async () => {
  for (let i = 1; i <= 9; i++) await deploy("t4", `s${i}`, i < 9 ? [`call:s${i + 1}`] : []);
  const chain = (n: number) => Array.from({ length: n - 1 }, (_, i) => `call:s${i + 2}:`).join("") + "hi";
  assert.is(await ask("t4", "s1", chain(8)), "echo hi");
  assert.is(await ask("t4", "s1", chain(9)), `limit-exceeded: call depth: s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> s7 -> s8 -> s9 is 9 services deep; at most 8 may run in one call chain`);
  assert.is(t.host.status("t4", "s9").calls, 0);
});

test("a callee spinning until its fuel runs out is charged to its caller, and never gets more than the caller has left", async () => {
  await deploy("t5", "b", [], { fuel: 5_000_000 });
  await deploy("t5", "a", ["call:b"], { fuel: 50_000_000 });
  const r = await t.host.call("t5", "a", "call:b:spin");
  assert.match(r.output, /^limit-exceeded: FUEL_EXHAUSTED: guest used all 5000000 units of fuel/);
  assert.ok(r.fuel >= 5_000_000, `the caller was charged the callee's fuel (${r.fuel})`);
  assert.is(t.host.status("t5", "b").errors.FUEL_EXHAUSTED, 1);
  // A caller with less fuel than the callee's limit: the callee gets what is left, the caller then runs out.
  await deploy("t5", "poor", ["call:b"], { fuel: 2_000_000 });
  const e = await rejects(t.host.call("t5", "poor", "call:b:spin"), "FUEL_EXHAUSTED");
  assert.match(e.message, /2000000 units/);
  assert.is(t.host.status("t5", "b").errors.FUEL_EXHAUSTED, 2);
  assert.is(await ask("t5", "a", "call:b:hi"), "echo hi", "b serves the next call");
});

test("a callee that traps reaches its caller as unavailable: GUEST_TRAP, is re-created, and its crash is recorded", async () => {
  // A trapped call is charged its whole fuel limit: a callee limited below its caller's fuel
  // leaves the caller enough to go on.
  await deploy("t6", "b", [], { fuel: 10_000_000 });
  await deploy("t6", "a", ["call:b"]);
  assert.is(await ask("t6", "a", "call:b:calls"), "1");
  assert.is(await ask("t6", "a", "call:b:calls"), "2");
  // The callee's trap names its own line (b.as.ts), then what happened.
  assert.match(await ask("t6", "a", "call:b:trap"), /^unavailable: GUEST_TRAP: b\.as\.ts:\d+:\d+ \(handle\): guest trapped/);
  assert.is(await ask("t6", "a", "call:b:calls"), "1", "a fresh instance of b served the next call");
  assert.is(t.host.status("t6", "b").errors.GUEST_TRAP, 1);
  const crashed = await eventsOf(t.host, "t6", "service_crashed", "b");
  assert.is(crashed.length, 1);
  assert.is(crashed[0]!.data.code, "GUEST_TRAP");
});

test("a callee's writes that cannot be committed fail the outer call with INTERNAL, and the callee's copy goes back to what is committed", async () => {
  await deploy("t8", "b", []);
  await deploy("t8", "a", ["call:b"]);
  assert.is(await ask("t8", "a", "call:b:set:k:1"), "set k");
  await t.host.injectStorageFaults({ ops: ["write"], next: 1 });
  const e = await rejects(t.host.call("t8", "a", "call:b:set:k:2"), "INTERNAL");
  assert.match(e.message, /^the kv writes of service b, called by this call, could not be committed: .*injected fault/);
  await t.host.injectStorageFaults(null);
  assert.is(await ask("t8", "b", "get:k"), "1", "b's copy was reloaded: the lost write is not seen");
  assert.is(t.host.status("t8", "a").errors.INTERNAL, 1);
});

test("B's kv write commits when A fails afterwards, and is still there after a restart; A's own write is not kept", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-calls-"));
  let host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
  try {
    await host.deploy({ tenant: "t7", service: "b", source: NODE, language: "assemblyscript" });
    await host.deploy({ tenant: "t7", service: "a", source: NODE, language: "assemblyscript", capabilities: ["kv", "call:b"] });
    const e = await rejects(host.call("t7", "a", "callfail:b:set:k:v"), "GUEST_ERROR");
    assert.is(e.message, "caller failed after: set k");
    assert.is((await host.call("t7", "b", "get:k")).output, "v");
    assert.is((await host.call("t7", "a", "get:mine")).output, "none");
    assert.is(host.usage("t7").quotas.kvBytes.used, 2, "the tenant's kv use counts b's committed entry");
    await host.close();
    host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    assert.is((await host.call("t7", "b", "get:k")).output, "v");
    assert.is((await host.call("t7", "a", "get:mine")).output, "none");
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
