import * as assert from "uvu/assert";
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { inspectComponent } from "../../host/wasm/index.ts";
import { ROOT, openHost, rejects, test } from "../helpers.ts";
import { wat } from "../meter/wat.ts";

// A hand-written echo in core wasm with UTF-8 strings: a bump allocator and a return area.
const ECHO_CORE = `(module
  (memory (export "memory") 1)
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
)`;

// The same shape, plus an import of a WASI filesystem interface.
const WASI_WIT = `package wasi:filesystem@0.2.0;
interface types {
  read-file: func(path: string) -> string;
}
world svc {
  import types;
  export handle: func(request: string) -> result<string, string>;
}`;
const WASI_CORE = ECHO_CORE.replace("(memory", `(import "wasi:filesystem/types@0.2.0" "read-file" (func (param i32 i32 i32)))\n  (memory`);

async function component(core: string, wit: string, world: string): Promise<Uint8Array> {
  const embedded = await componentEmbed({ binary: wat(core), witSource: wit, world, stringEncoding: "utf8" });
  return componentNew(embedded);
}

const SOLO_WIT = readFileSync(join(ROOT, "wit", "solo.wit"), "utf8");

test("a component that imports a WASI filesystem interface is refused, naming the import", async () => {
  const bytes = await component(WASI_CORE, WASI_WIT, "svc");
  const t = await openHost();
  try {
    const e = await rejects(t.host.deploy({ tenant: "a", service: "fs", source: bytes, language: "component" }), "VALIDATION_FAILED");
    assert.match(e.message, /wasi:filesystem\/types@0\.2\.0/);
    assert.equal(e.details, { item: "wasi:filesystem/types@0.2.0", limit: "imports" });
    assert.equal(t.host.list("a"), []);
  } finally {
    await t.close();
  }
});

test("a precompiled UTF-8 component for the solo world deploys and answers", async () => {
  const bytes = await component(ECHO_CORE, SOLO_WIT, "service");
  const t = await openHost();
  try {
    const d = await t.host.deploy({ tenant: "a", service: "echo", source: bytes, file: "echo.wasm" });
    assert.is(d.language, "component");
    assert.is((await t.host.call("a", "echo", "héllo")).output, "héllo");
  } finally {
    await t.close();
  }
});

test("size, shape and type limits name the offending item and limit", async () => {
  const bytes = await component(ECHO_CORE, SOLO_WIT, "service");
  const tooBig = (() => { try { inspectComponent(bytes, { ...limits(), maxComponentBytes: 100 }); } catch (e) { return e as any; } })();
  assert.is(tooBig.code, "VALIDATION_FAILED");
  assert.is(tooBig.details.limit, "maxComponentBytes");
  const tooManyFns = (() => { try { inspectComponent(bytes, { ...limits(), maxFunctions: 1 }); } catch (e) { return e as any; } })();
  assert.is(tooManyFns.details.limit, "maxFunctions");
  const bigMemory = (() => { try { inspectComponent(bytes, { ...limits(), maxInitialMemoryBytes: 1000 }); } catch (e) { return e as any; } })();
  assert.is(bigMemory.details.limit, "maxInitialMemoryBytes");
  const notComponent = (() => { try { inspectComponent(wat(ECHO_CORE)); } catch (e) { return e as any; } })();
  assert.is(notComponent.code, "VALIDATION_FAILED");
});

test("bytes that are not a component are refused at deploy", async () => {
  const t = await openHost();
  try {
    await rejects(t.host.deploy({ tenant: "a", service: "x", source: wat(ECHO_CORE), language: "component" }), "VALIDATION_FAILED");
    await rejects(t.host.deploy({ tenant: "a", service: "x", source: new Uint8Array([0, 1, 2]), language: "component" }), "VALIDATION_FAILED");
  } finally {
    await t.close();
  }
});

function limits() {
  return { maxComponentBytes: 1 << 20, maxFunctions: 100, maxMemories: 1, maxTables: 1, maxDataSegments: 10, maxInitialMemoryBytes: 1 << 20, maxNestingDepth: 1 };
}

test.run();
