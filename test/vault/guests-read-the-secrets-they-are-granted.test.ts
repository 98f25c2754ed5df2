import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Host, type SoloEvent } from "../../host/index.ts";
import { EVENT_BURST } from "../../host/services/event-budget.ts";
import { openHost, rejects, test, TEST_CACHE } from "../helpers.ts";
import { ABI, component } from "../abuse/hostile.ts";
import { AS_READER, TS_READER } from "./guests.ts";

const NOT_FOUND = (tenant: string, name: string) => `not-found: secret "${name}" is not stored for tenant ${tenant}; store it (solo secret put ${tenant} ${name})`;

async function everyEvent(host: Host): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of host.eventStore.stream()) out.push(e);
  return out;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(join(dir, d.name)) : d.isFile() ? [join(dir, d.name)] : []));
}

test("AssemblyScript and TypeScript guests read a granted secret, see each put and removal from their next call, get access-denied for another name; the values appear in no event, status or file, and survive a restart", async () => {
  const canaries = Array.from({ length: 3 }, (_, i) => `canary${i}-${randomBytes(12).toString("hex")}`);
  const logs: string[] = [];
  const t = await openHost({ onLog: (l) => void logs.push(l.message) });
  let closed = false;
  try {
    const host = t.host;
    await host.deploy({ tenant: "a", service: "as-reader", source: AS_READER, language: "assemblyscript", capabilities: ["secret:db", "secret:api"] });
    await host.deploy({ tenant: "a", service: "ts-reader", source: TS_READER, language: "typescript", capabilities: ["secret:db"] });
    await host.deploy({ tenant: "b", service: "as-reader", source: AS_READER, language: "assemblyscript", capabilities: ["secret:db"] });
    const ask = async (tenant: string, service: string, request: string) => (await host.call(tenant, service, request)).output;

    assert.is(await ask("a", "as-reader", "db"), NOT_FOUND("a", "db"), "granted but not stored");
    assert.is(await ask("a", "ts-reader", "db"), NOT_FOUND("a", "db"));

    await host.putSecret("a", "db", canaries[0]!);
    assert.is(await ask("a", "as-reader", "db"), `value ${canaries[0]}`);
    assert.is(await ask("a", "ts-reader", "db"), `value ${canaries[0]}`);
    assert.is(await ask("b", "as-reader", "db"), NOT_FOUND("b", "db"), "another tenant's secret of the same name is not b's");

    assert.is(await ask("a", "ts-reader", "api"), 'access-denied: secret "api" is not granted to this service; deploy it with capability "secret:api"');
    assert.is(await ask("a", "as-reader", "api"), NOT_FOUND("a", "api"));

    const v2 = await host.putSecret("a", "db", canaries[1]!);
    assert.is(v2.version, 2);
    assert.is(await ask("a", "as-reader", "db"), `value ${canaries[1]}`, "the new value from the next call on");
    assert.is(await ask("a", "ts-reader", "db"), `value ${canaries[1]}`);

    await host.removeSecret("a", "db");
    assert.is(await ask("a", "as-reader", "db"), NOT_FOUND("a", "db"), "removed: not-found from the next call on");
    assert.is(await ask("a", "ts-reader", "db"), NOT_FOUND("a", "db"));

    await host.putSecret("a", "db", canaries[2]!);
    await host.putSecret("b", "db", "b's own value");
    assert.is(await ask("a", "as-reader", "db"), `value ${canaries[2]}`);
    assert.is(await ask("b", "as-reader", "db"), "value b's own value");

    const denied = (await everyEvent(host)).filter((e) => e.type === "secret_access_denied");
    assert.equal(denied.map((e) => [e.tenant, e.service, e.data.name]), [["a", "ts-reader", "api"]]);
    const accessed = (await everyEvent(host)).filter((e) => e.type === "secret_accessed");
    assert.equal(accessed.map((e) => `${e.tenant} ${e.service} ${JSON.stringify(e.data)} ${e.actor}`), [
      'a as-reader {"name":"db"} local', 'a ts-reader {"name":"db"} local', 'a as-reader {"name":"db"} local', 'a ts-reader {"name":"db"} local',
      'a as-reader {"name":"db"} local', 'b as-reader {"name":"db"} local',
    ], "each successful read, named, never valued");
    assert.equal((await everyEvent(host)).filter((e) => e.type.startsWith("secret_") && e.type !== "secret_accessed" && e.type !== "secret_access_denied").map((e) => `${e.type} ${e.tenant} ${JSON.stringify(e.data)}`), [
      'secret_stored a {"name":"db","version":1}', 'secret_stored a {"name":"db","version":2}', 'secret_revoked a {"name":"db","version":2}',
      'secret_stored a {"name":"db","version":1}', 'secret_stored b {"name":"db","version":1}',
    ]);

    const seen = JSON.stringify([await everyEvent(host), host.list("a"), host.list("b"), host.usage("a"), host.secrets("a"), host.stats(), logs]);
    for (const c of canaries) assert.not.ok(seen.includes(c), "no value in events, statuses, usage, secret lists, stats or logs");

    await host.close();
    const again = await Host.open({ dataDir: t.dataDir, cacheDir: TEST_CACHE, workers: 2 });
    try {
      assert.is((await again.call("a", "as-reader", "db")).output, `value ${canaries[2]}`, "a restart keeps the secret and the grant");
      assert.is((await again.call("a", "ts-reader", "db")).output, `value ${canaries[2]}`);
      assert.is(again.secret("a", "db"), canaries[2]);
    } finally {
      await again.close();
      closed = true;
    }
    for (const f of files(t.dataDir)) {
      const bytes = readFileSync(f);
      for (const c of canaries) assert.not.ok(bytes.includes(c), `${f} holds a value in clear`);
    }
  } finally {
    if (closed) rmSync(t.dataDir, { recursive: true, force: true });
    else await t.close();
  }
});

test("a guest reading a secret in a loop writes a bounded number of secret_accessed events: one per call at most, within the service's budget", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "looper", source: AS_READER, language: "assemblyscript", capabilities: ["secret:db"] });
    await t.host.putSecret("a", "db", "loop value");
    const started = performance.now();
    const calls = 40;
    for (let i = 0; i < calls; i++) assert.is((await t.host.call("a", "looper", "loop:db")).output, "10000");
    const elapsed = (performance.now() - started) / 1000;
    const events: SoloEvent[] = [];
    for await (const e of t.host.events("a", { type: "secret_accessed" })) events.push(e);
    const suppressed = events.reduce((n, e) => n + Number(e.data.suppressed ?? 0), 0);
    assert.ok(events.length >= EVENT_BURST, `the burst is written (${events.length})`);
    assert.ok(events.length <= EVENT_BURST + Math.ceil(elapsed * 10) + 1, `${events.length} events in ${elapsed.toFixed(1)} s: within the budget`);
    assert.ok(events.length + suppressed <= calls, "400,000 reads: one report per call at most, the left-out ones counted");
    assert.ok(events.length < calls || elapsed > 2, "the budget left some out");
  } finally {
    await t.close();
  }
});

// Spins for its fuel until the deadline stops it (as in the abuse tests): the worker is replaced.
const SPIN = `(module (memory (export "memory") 1) ${ABI}
  (func (export "handle") (param i32 i32) (result i32)
    (loop $l (memory.fill (i32.const 0) (i32.const 0) (i32.const 256)) (br $l)) (i32.const 16)))`;

test("a replaced worker still serves secrets: the re-installed service gets the current value, and a put made while the worker is replaced is seen", async () => {
  const t = await openHost({ workers: 1 });
  try {
    await t.host.deploy({ tenant: "a", service: "spin", source: await component(SPIN), language: "component", limits: { fuel: 10_000_000_000, deadlineMs: 300 } });
    await t.host.deploy({ tenant: "a", service: "reader", source: AS_READER, language: "assemblyscript", capabilities: ["secret:db"] });
    await t.host.putSecret("a", "db", "before");
    assert.is((await t.host.call("a", "reader", "db")).output, "value before");
    await rejects(t.host.call("a", "spin", ""), "DEADLINE_EXCEEDED");
    assert.is(t.host.stats().workerRestarts, 1);
    assert.is((await t.host.call("a", "reader", "db")).output, "value before", "re-installed with its secret");

    // A put while the next runaway call holds the worker (and while it is replaced).
    const runaway = rejects(t.host.call("a", "spin", ""), "DEADLINE_EXCEEDED");
    await new Promise((r) => setTimeout(r, 150));
    await t.host.putSecret("a", "db", "during");
    await runaway;
    await t.host.putSecret("a", "other", "not granted to reader");
    assert.is((await t.host.call("a", "reader", "db")).output, "value during");
    await t.host.removeSecret("a", "db");
    assert.is((await t.host.call("a", "reader", "db")).output, NOT_FOUND("a", "db"));
  } finally {
    await t.close();
  }
});

test.run();
