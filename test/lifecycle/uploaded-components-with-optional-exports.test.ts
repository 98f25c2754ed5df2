// Uploaded components may export health and migrate too: with the world's signatures they deploy
// and report them; any other signature is refused before anything runs, naming the one expected.
import * as assert from "uvu/assert";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inspectComponent } from "../../host/wasm/index.ts";
import { Sandbox } from "../../host/runtime/index.ts";
import { ROOT, openHost, rejects, test } from "../helpers.ts";
import { wat } from "../meter/wat.ts";
import { FUEL, MEMORY, mapEnv } from "./lifecycle-guests.ts";

const SOLO_WIT = readFileSync(join(ROOT, "wit", "solo.wit"), "utf8");

// A UTF-8 echo in core wasm (bump allocator, return area at 16). health fails with "bad" (at
// 64) when migrate has run; migrate stores fromVersion at 128 and succeeds.
const CORE = `(module
  (memory (export "memory") 1)
  (data (i32.const 64) "bad")
  (global $next (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get 3)))
    (local.get $p))
  (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $ptr))
    (i32.store (i32.const 24) (local.get $len))
    (i32.const 16))
  HEALTH
  MIGRATE
)`;
const HEALTH = `(func (export "health") (result i32)
    (i32.store8 (i32.const 16) (i32.ne (i32.load (i32.const 128)) (i32.const 0)))
    (i32.store (i32.const 20) (i32.const 64))
    (i32.store (i32.const 24) (i32.const 3))
    (i32.const 16))`;
const MIGRATE = `(func (export "migrate") (param i32) (result i32)
    (i32.store (i32.const 128) (local.get 0))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.const 16))`;

async function component(core: string, wit: string, world: string): Promise<Uint8Array> {
  const embedded = await componentEmbed({ binary: wat(core), witSource: wit, world, stringEncoding: "utf8" });
  return componentNew(embedded);
}

/** A world like service-lifecycle, with other signatures for health and migrate. */
function wrongWorld(health: string, migrate: string): string {
  return `${SOLO_WIT}\nworld wrong {\n  include service;\n  export health: ${health};\n  export migrate: ${migrate};\n}\n`;
}

test("a hand-made component for service-lifecycle deploys, reports both exports, and its health and migrate run", async () => {
  const bytes = await component(CORE.replace("HEALTH", HEALTH).replace("MIGRATE", MIGRATE), SOLO_WIT, "service-lifecycle");
  const inspected = inspectComponent(bytes);
  assert.is(inspected.kind, "core");
  assert.equal(inspected.lifecycle, ["health", "migrate"]);
  if (inspected.kind !== "core") return;
  const g = Sandbox.create(new WebAssembly.Module(inspected.module as Uint8Array<ArrayBuffer>), { encoding: "utf8", memoryLimitBytes: MEMORY, startFuel: FUEL, env: mapEnv(new Map()), lifecycle: inspected.lifecycle });
  assert.equal(g.lifecycle, { health: true, migrate: true });
  assert.ok(g.health(FUEL).ok);
  assert.ok(g.migrate(9, FUEL).ok);
  const h = g.health(FUEL);
  assert.equal(h.ok ? undefined : [h.code, h.message, h.trapped], ["GUEST_ERROR", "bad", false]);
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "hand", source: bytes, file: "hand.wasm" });
    assert.is((await t.host.call("a", "hand", "héllo")).output, "héllo");
  } finally {
    await t.close();
  }
});

test("a hand-made component for service-migrate reports only migrate; one for service reports none", async () => {
  const migrateOnly = await component(CORE.replace("HEALTH", "").replace("MIGRATE", MIGRATE), SOLO_WIT, "service-migrate");
  assert.equal(inspectComponent(migrateOnly).lifecycle, ["migrate"]);
  // The module exports health and migrate, but the component does not: they are not the guest's.
  const plain = await component(CORE.replace("HEALTH", HEALTH).replace("MIGRATE", MIGRATE), SOLO_WIT, "service");
  const inspected = inspectComponent(plain);
  assert.equal(inspected.lifecycle, []);
  if (inspected.kind !== "core") return;
  const g = Sandbox.create(new WebAssembly.Module(inspected.module as Uint8Array<ArrayBuffer>), { encoding: "utf8", memoryLimitBytes: MEMORY, startFuel: FUEL, env: mapEnv(new Map()), lifecycle: inspected.lifecycle });
  assert.equal(g.lifecycle, { health: false, migrate: false });
});

test("health or migrate of another signature is VALIDATION_FAILED naming the expected one", async () => {
  const cases = [
    // Lowers to the same core type as the right one: only the component's own types tell them apart.
    { health: "func() -> result<string, string>", migrate: "func(from-version: u32) -> result<_, string>", item: "health", says: "func() -> result<string, string>", expected: "health: func() -> result<_, string>" },
    { health: "func() -> result<_, string>", migrate: "func(from-version: u32) -> u32", item: "migrate", says: "func(u32) -> u32", expected: "migrate: func(from-version: u32) -> result<_, string>" },
    { health: "func() -> result<_, string>", migrate: "func(from-version: s32) -> result<_, string>", item: "migrate", says: "func(s32) -> result<_, string>", expected: "migrate: func(from-version: u32) -> result<_, string>" },
  ];
  const t = await openHost();
  try {
    for (const c of cases) {
      const bytes = await component(CORE.replace("HEALTH", HEALTH).replace("MIGRATE", MIGRATE), wrongWorld(c.health, c.migrate), "wrong");
      const e = await rejects(t.host.deploy({ tenant: "a", service: "wrong", source: bytes, language: "component" }), "VALIDATION_FAILED");
      assert.is(e.message, `component exports "${c.item}" as ${c.says}; the optional export must be ${c.expected}`);
      assert.equal(e.details, { item: c.item, limit: "exports", expected: c.expected });
    }
    // A core type that does not fit the world's lowering is refused too.
    const core = CORE.replace("HEALTH", "(func (export \"health\") (param i32) (result i32) (i32.const 16))").replace("MIGRATE", "");
    const bytes = await component(core, `${SOLO_WIT}\nworld odd {\n  include service;\n  export health: func(x: u32) -> result<_, string>;\n}\n`, "odd");
    const e = await rejects(t.host.deploy({ tenant: "a", service: "odd", source: bytes, language: "component" }), "VALIDATION_FAILED");
    assert.match(e.message, "health: func() -> result<_, string>");
    assert.equal(t.host.list("a"), []);
  } finally {
    await t.close();
  }
});

test.run();
