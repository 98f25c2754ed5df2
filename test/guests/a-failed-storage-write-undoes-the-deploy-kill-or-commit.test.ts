// The failure paths of deploy, kill and kv commits, reached with the host's test-only storage
// fault injection (a RocksDB write or read that fails, as a full disk or an I/O error would).
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { TEST_CACHE, example, rejects, test } from "../helpers.ts";
import { NODE } from "../services/guests.ts";

const counter = { tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" as const };

async function withRestarts(body: (open: () => Promise<Host>) => Promise<void>) {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-faults-"));
  const hosts: Host[] = [];
  try {
    await body(async () => {
      const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
      hosts.push(host);
      return host;
    });
  } finally {
    for (const h of hosts) await h.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The counter deployed and counted to 1; then a call whose kv commit fails, and the reload of the worker's copy too. */
async function commitAndReloadFail(host: Host) {
  await host.deploy(counter);
  assert.is((await host.call("a", "counter", "")).output, "1");
  await host.injectStorageFaults({ ops: ["write", "kv-load"], next: 2 });
  await rejects(host.call("a", "counter", ""), "INTERNAL");
  await host.injectStorageFaults(null);
}

test("a deploy whose record cannot be written did not happen: never callable, not there after a restart", async () => {
  await withRestarts(async (open) => {
    const host = await open();
    await host.injectStorageFaults({ ops: ["write"], next: 1 });
    const e = await rejects(host.deploy(counter), "INTERNAL");
    assert.match(e.message, /injected fault/);
    await rejects(host.call("a", "counter", ""), "NOT_FOUND");
    assert.equal(host.list("a"), []);
    const [failed] = await host.eventStore.list({ tenant: "a" });
    assert.is(failed?.type, "service_deployment_failed");
    await host.close();
    assert.equal((await open()).list("a"), []);
  });
});

test("a deploy that fails gets its own error even when its failure event cannot be written", async () => {
  await withRestarts(async (open) => {
    const host = await open();
    await host.injectStorageFaults({ ops: ["write"], next: 1 });
    const bad = "export function handle(request: string): string { const n: i32 = request; return request; }";
    const e = await rejects(host.deploy({ tenant: "a", service: "bad", source: bad, language: "assemblyscript" }), "COMPILE_ERROR");
    assert.ok((e.details as { diagnostics?: unknown[] } | undefined)?.diagnostics?.length, "the compiler's diagnostics reach the agent");
  });
});

test("a kill whose write fails did not happen: the service keeps running with its kv, also after a restart", async () => {
  await withRestarts(async (open) => {
    const host = await open();
    await host.deploy(counter);
    assert.is((await host.call("a", "counter", "")).output, "1");
    await host.injectStorageFaults({ ops: ["write"], next: 1 });
    await rejects(host.kill("a", "counter"), "INTERNAL");
    assert.equal(host.list("a").map((s) => s.service), ["counter"]);
    assert.is((await host.call("a", "counter", "")).output, "2");
    await host.close();
    const again = await open();
    assert.is((await again.call("a", "counter", "")).output, "3");
    await again.kill("a", "counter");
    await again.close();
    assert.equal((await open()).list("a"), [], "a kill that succeeds stays done");
  });
});

test("a call whose kv commit fails, and whose copy cannot be reloaded, leaves no write behind: the next call starts from the committed state", async () => {
  await withRestarts(async (open) => {
    const host = await open();
    await commitAndReloadFail(host);
    assert.is((await host.call("a", "counter", "")).output, "2", "counted from the committed 1, not the lost 2");
    await host.close();
    assert.is((await (await open()).call("a", "counter", "")).output, "3");
  });
});

test("a call sent after its copy was reloaded and a call right behind it, answered together, commit in the order they ran", async () => {
  await withRestarts(async (open) => {
    const host = await open();
    await commitAndReloadFail(host);
    // A reloads the copy first, then goes to the worker; B is called the moment A is handed to
    // the worker pool (so B goes straight there), and the API thread is then kept busy, so both
    // answers wait and are taken in together, as under load. The pool is reached into only to
    // time B's call: both are ordinary host.call()s.
    const pool = (host as unknown as { pool: Record<"send" | "call", (...args: unknown[]) => unknown> }).pool;
    const original = { send: pool.send, call: pool.call };
    let b: Promise<{ output: string }> | undefined;
    for (const name of ["send", "call"] as const) {
      pool[name] = function (this: unknown, ...args: unknown[]) {
        pool.send = original.send;
        pool.call = original.call;
        const sent = original[name].apply(this, args);
        b = host.call("a", "counter", "");
        setImmediate(() => {
          const until = performance.now() + 200;
          while (performance.now() < until);
        });
        return sent;
      };
    }
    const a = await host.call("a", "counter", "");
    assert.ok(b, "B was called while A was on its way");
    const later = await b!;
    assert.equal([a.output, later.output], ["2", "3"]);
    await host.close();
    // Committed in the order they ran: B's write is the one that stands.
    assert.is((await (await open()).call("a", "counter", "")).output, "4");
  });
});

/** Services b (kv) and a (granted call:b), both the NODE guest; b's n committed as 1, then a commit of b and its reload fail. */
async function nestedAfterReloadFails(host: Host) {
  const deploy = (service: string, capabilities: string[]) => host.deploy({ tenant: "a", service, source: NODE, language: "assemblyscript", capabilities: ["kv", ...capabilities] });
  await deploy("b", []);
  await deploy("a", ["call:b"]);
  assert.is((await host.call("a", "b", "set:n:1")).output, "set n");
  await host.injectStorageFaults({ ops: ["write", "kv-load"], next: 2 });
  await rejects(host.call("a", "b", "set:n:2"), "INTERNAL");
  await host.injectStorageFaults(null);
}

const REFUSED = "unavailable: service b's kv is being reloaded after a failed commit; it did not run; try again";

test("after b's commit and reload fail, calls through b from another service are refused without running b until b is reloaded, then served", async () => {
  await withRestarts(async (open) => {
    const host = await open();
    await nestedAfterReloadFails(host);
    // a calls b back to back. Each call that ran b on its stale copy used to start a reload that
    // outdated the one before, so all of them were refused for as long as a kept calling (200 of 200).
    const outputs: string[] = [];
    for (let served = 0; served < 20 && outputs.length < 2000; ) {
      const { output } = await host.call("a", "a", `call:b:set:n:${outputs.length}`);
      outputs.push(output);
      served = output === "set n" ? served + 1 : 0;
    }
    const refused = outputs.findIndex((o) => o === "set n");
    assert.ok(refused >= 1 && refused < outputs.length - 19, `served after ${refused} refusals (${outputs.length} calls)`);
    assert.equal(new Set(outputs.slice(0, refused)), new Set([REFUSED]), "refused while b's copy was being reloaded, with a reason");
    assert.equal(new Set(outputs.slice(refused)), new Set(["set n"]), "once served, never refused again");
    const last = String(outputs.length - 1);
    assert.is((await host.call("a", "b", "get:n")).output, last);
    await host.close();
    assert.is((await (await open()).call("a", "b", "get:n")).output, last);
  });
});

test("with the worker's refusal switched off, a caller waiting on reloads that calls from another service keep outdating gives up after 4 with UNAVAILABLE; nothing is lost", async () => {
  await withRestarts(async (open) => {
    const host = await open();
    // The worker's refusal (above) leaves only calls already in flight to outdate a reload; here
    // it is switched off, so that the host's own bound on waiting is what ends the wait. Before
    // each of the next reloads of b's copy is sent to the worker, a calls b and b writes: that
    // call ran on the copy being reloaded, so it starts a reload of its own, which outdates this
    // one. The pool is reached into only for that.
    const pool = (host as unknown as { pool: { markKvStale: (...args: unknown[]) => void; reloadKv: (...args: unknown[]) => Promise<void> } }).pool;
    const original = { markKvStale: pool.markKvStale, reloadKv: pool.reloadKv };
    pool.markKvStale = () => {};
    await nestedAfterReloadFails(host);
    const nested: string[] = [];
    let interfere = 12;
    pool.reloadKv = async function (this: unknown, ...args: unknown[]) {
      if (interfere-- > 0) await host.call("a", "a", "call:b:set:n:x").then((r) => nested.push(r.output), (err: { code: string }) => nested.push(err.code));
      return original.reloadKv.apply(this, args);
    };
    const e = await rejects(host.call("a", "b", "get:n"), "UNAVAILABLE");
    assert.is(e.message, "service b's kv could not be reloaded after a failed commit (4 reloads in a row were outdated by other calls); try again");
    assert.ok(nested.length >= 4 && nested.every((c) => c === "UNAVAILABLE"), `b's writes from a were not kept: ${nested.join(", ")}`);
    Object.assign(pool, original);
    // Once nothing outdates the reload, b is served from its committed state, and a can call it.
    assert.is((await host.call("a", "b", "get:n")).output, "1");
    assert.is((await host.call("a", "a", "call:b:set:n:3")).output, "set n");
    await host.close();
    assert.is((await (await open()).call("a", "b", "get:n")).output, "3");
  });
});

test("after a commit and a reload fail, callers calling without a pause are served again, and no write is lost", async () => {
  await withRestarts(async (open) => {
    const host = await open();
    await commitAndReloadFail(host);
    // Four callers, each calling again as soon as it is answered: every call comes while the copy
    // is still to be reloaded. They share one reload (each starting its own kept the copy unknown
    // and refused every call, 160 of 160, for as long as they kept calling).
    const answers: number[] = [];
    const failures: string[] = [];
    await Promise.all(Array.from({ length: 4 }, async () => {
      for (let i = 0; i < 40; i++) {
        await host.call("a", "counter", "").then((r) => answers.push(Number(r.output)), (err: { code: string }) => failures.push(err.code));
      }
    }));
    assert.equal(failures, []);
    assert.equal(answers.sort((x, y) => x - y), Array.from({ length: 160 }, (_, i) => i + 2), "each call counted once, from the committed 1");
    await host.close();
    assert.is((await (await open()).call("a", "counter", "")).output, "162");
  });
});

test.run();
