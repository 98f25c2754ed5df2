// health() and migrate() on real instances of what the builder makes: success, the guest's own
// failure (GUEST_ERROR with its text), traps, fuel and memory classified as for a call, kv
// reached through the same GuestEnv, and an absent export answering ok without running anything.
import * as assert from "uvu/assert";
import { test } from "../helpers.ts";
import type { CallOutcome } from "../../host/runtime/index.ts";
import { SoloError } from "../../host/errors.ts";
import { JavySandbox } from "../../host/runtime/javy-sandbox.ts";
import { wat } from "../meter/wat.ts";
import { AS_BOTH, AS_MIGRATE_ONLY, AS_NEITHER, FUEL, MEMORY, TS_BOTH, TS_MIGRATE_ONLY, TS_NEITHER, builds, instantiate, mapEnv } from "./lifecycle-guests.ts";

function failure(out: CallOutcome, code: string): string {
  assert.is(out.ok, false, `expected ${code}, got success`);
  if (out.ok) return "";
  assert.is(out.code, code, `expected ${code}, got ${out.code}: ${out.message}`);
  return out.message;
}

function success(out: CallOutcome): void {
  assert.ok(out.ok, out.ok ? "" : `expected success, got ${out.code}: ${out.message}`);
  if (out.ok) assert.is(out.output, "");
}

const b = builds();

for (const language of ["assemblyscript", "typescript"] as const) {
  const both = language === "assemblyscript" ? AS_BOTH : TS_BOTH;

  test(`${language}: health and migrate succeed, are metered, and migrate writes kv and gets the version it replaces`, async () => {
    const kv = new Map<string, string>();
    const g = await instantiate(await b.build(language, both), mapEnv(kv));
    const h = g.health(FUEL);
    success(h);
    assert.ok(h.fuel > 0, "health's fuel is counted");
    const m = g.migrate(41, FUEL);
    success(m);
    assert.ok(m.fuel > 200, "migrate's kv imports are charged");
    assert.is(kv.get("migrated-from"), "41");
    assert.is(kv.get("schema"), "2");
    success(g.migrate(4_000_000_000, FUEL));
    assert.is(kv.get("migrated-from"), "4000000000", "fromVersion is a u32");
    const call = g.call("still serving", FUEL, 1 << 20);
    assert.ok(call.ok && call.output === "v2:still serving");
  });

  test(`${language}: the guest's failure is GUEST_ERROR with its own text, and the instance goes on`, async () => {
    const kv = new Map([["mode", "fail"]]);
    const g = await instantiate(await b.build(language, both), mapEnv(kv));
    assert.is(failure(g.health(FUEL), "GUEST_ERROR"), "health is not ready");
    assert.is(failure(g.migrate(1, FUEL), "GUEST_ERROR"), "migrate is not ready");
    assert.is(kv.get("migrated-from"), undefined);
    kv.set("mode", "");
    success(g.health(FUEL));
    const call = g.call("x", FUEL, 1 << 20);
    assert.ok(call.ok && call.output === "v2:x");
  });

  test(`${language}: a health that never ends stops with FUEL_EXHAUSTED at the given fuel`, async () => {
    const kv = new Map([["mode", "spin"]]);
    const g = await instantiate(await b.build(language, both), mapEnv(kv));
    const out = g.health(2_000_000);
    assert.match(failure(out, "FUEL_EXHAUSTED"), "2000000 units");
    assert.is(out.fuel, 2_000_000);
  });

  test(`${language}: an optional export the guest does not have answers ok without running anything`, async () => {
    const kv = new Map<string, string>();
    const neither = await instantiate(await b.build(language, language === "assemblyscript" ? AS_NEITHER : TS_NEITHER), mapEnv(kv));
    assert.equal(neither.health(1), { ok: true, output: "", fuel: 0, memoryBytes: neither.memoryBytes });
    assert.equal(neither.migrate(3, 1), { ok: true, output: "", fuel: 0, memoryBytes: neither.memoryBytes });
    const only = await instantiate(await b.build(language, language === "assemblyscript" ? AS_MIGRATE_ONLY : TS_MIGRATE_ONLY), mapEnv(kv));
    assert.equal(only.health(1), { ok: true, output: "", fuel: 0, memoryBytes: only.memoryBytes });
    assert.is(failure(only.migrate(0, FUEL), "GUEST_ERROR"), "cannot migrate from version 0");
    success(only.migrate(7, FUEL));
    assert.is(kv.get("migrated-from"), "7");
  });

  test(`${language}: a fromVersion that is not a u32 is refused before the guest runs`, async () => {
    const kv = new Map<string, string>();
    const g = await instantiate(await b.build(language, both), mapEnv(kv));
    for (const v of [-1, 1.5, 2 ** 32, Number.NaN]) {
      try {
        g.migrate(v, FUEL);
        assert.unreachable(`migrate(${v}) must throw`);
      } catch (err) {
        assert.instance(err, SoloError);
        assert.is((err as SoloError).code, "INVALID_ARGUMENT");
      }
    }
    assert.is(kv.size, 0);
  });
}

test("assemblyscript: fail() inside health is its failure too, and does not leak into the next call", async () => {
  const kv = new Map([["mode", "fail-fn"]]);
  const g = await instantiate(await b.build("assemblyscript", AS_BOTH), mapEnv(kv));
  assert.is(failure(g.health(FUEL), "GUEST_ERROR"), "health failed through fail()");
  const call = g.call("after", FUEL, 1 << 20);
  assert.ok(call.ok && call.output === "v2:after", "handle is not failed by health's fail()");
});

test("assemblyscript: a trap in health or migrate is GUEST_TRAP with the guest's message", async () => {
  const kv = new Map([["mode", "trap"]]);
  const g = await instantiate(await b.build("assemblyscript", AS_BOTH), mapEnv(kv));
  const out = g.health(FUEL);
  assert.match(failure(out, "GUEST_TRAP"), "health blew up");
  assert.is(out.ok ? undefined : out.trapped, true);
  assert.is(out.fuel, FUEL, "a trapped run is charged its whole limit");
  const g2 = await instantiate(await b.build("assemblyscript", AS_BOTH), mapEnv(kv));
  assert.match(failure(g2.migrate(2, FUEL), "GUEST_TRAP"), "migrate blew up");
  assert.is(kv.get("migrated-from"), undefined);
});

test("typescript: unbounded recursion in health or migrate is GUEST_TRAP (stack overflow)", async () => {
  const kv = new Map([["mode", "trap"]]);
  const g = await instantiate(await b.build("typescript", TS_BOTH), mapEnv(kv));
  const out = g.health(FUEL);
  assert.match(failure(out, "GUEST_TRAP"), "stack overflow");
  assert.is(out.ok ? undefined : out.trapped, true);
  const g2 = await instantiate(await b.build("typescript", TS_BOTH), mapEnv(kv));
  assert.match(failure(g2.migrate(2, FUEL), "GUEST_TRAP"), "stack overflow");
  assert.is(kv.get("migrated-from"), undefined);
});

test("typescript: a health that allocates without end stops with MEMORY_LIMIT", async () => {
  const kv = new Map([["mode", "bomb"]]);
  const g = await instantiate(await b.build("typescript", TS_BOTH), mapEnv(kv));
  const out = g.health(2_000_000_000, 40 * 1024 * 1024);
  assert.match(failure(out, "MEMORY_LIMIT"), String(40 * 1024 * 1024));
});

test("a javy module has neither: its artifact lists none and both answer ok", async () => {
  const artifact = await b.store.fromJavy(wat(`(module (memory (export "memory") 1) (func (export "_start")))`));
  assert.equal(artifact.lifecycle, []);
  if (artifact.run.kind !== "javy") return assert.unreachable("expected a javy artifact");
  const g = new JavySandbox(artifact.run.module, mapEnv(new Map()), MEMORY, FUEL);
  assert.equal(g.lifecycle, { health: false, migrate: false });
  assert.equal(g.health(), { ok: true, output: "", fuel: 0, memoryBytes: g.memoryBytes });
  assert.equal(g.migrate(1), { ok: true, output: "", fuel: 0, memoryBytes: g.memoryBytes });
});

test.after(() => b.close());
test.run();
