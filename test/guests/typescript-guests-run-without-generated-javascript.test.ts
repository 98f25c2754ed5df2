// A TypeScript guest is a component of eleven core modules (QuickJS engine, WASI adapter, shims,
// stubs). Solo wires them itself from a plan of the component's graph: no JavaScript is generated
// from the component, so none can run in the worker. A component whose graph the plan does not
// cover would need jco's glue, which an upload never gets.
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../../host/index.ts";
import { rejects, test } from "../helpers.ts";

const GUEST = `import { kv, log } from "solo";
export function handle(request: string): string {
  log.info("got " + request);
  kv.set("last", request);
  if (request === "fail") throw new Error("asked to fail");
  return "echo:" + kv.get("last");
}
export function health(): void {}
export function migrate(fromVersion: number): void {
  if (fromVersion > 100) throw new Error("too old");
}
`;

/** Every file under dir, relative. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1));
}

test("a TypeScript guest runs with no generated JavaScript: no glue is made, so the worker has none to load", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-noglue-"));
  const cacheDir = join(dir, "cache");
  const host = await Host.open({ dataDir: join(dir, "data"), cacheDir, workers: 1 });
  try {
    await host.deploy({ tenant: "a", service: "js", source: GUEST, language: "typescript" });
    assert.is(host.versions("a", "js")[0]!.kind, "component");
    const r = await host.call("a", "js", "hello é");
    assert.is(r.output, "echo:hello é");
    const e = await rejects(host.call("a", "js", "fail"), "GUEST_ERROR");
    assert.match(e.message, /asked to fail/);
    // A new version through a swap: its health and migrate run on the new instance, kv is kept.
    await host.swap({ tenant: "a", service: "js", source: `${GUEST}// v2\n`, language: "typescript" });
    assert.is(host.versions("a", "js").at(-1)!.kind, "component");
    assert.is((await host.call("a", "js", "again")).output, "echo:again");
    // jco's transpile writes glue/<shape>/guest.js for any component it wires; nothing did.
    assert.not.ok(existsSync(join(cacheDir, "glue")), "no glue folder in the artifact cache");
    assert.equal(files(cacheDir).filter((f) => /\.m?js$/.test(f)), [], "no JavaScript among the cached artifacts");
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A hand-made component: one nested (empty) component, a component start function, and a "handle" export. */
function uncoveredComponent(): Uint8Array {
  const preamble = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
  const name = [...new TextEncoder().encode("handle")];
  const exports = [1, 0x00, name.length, ...name, 0x01, 0x00, 0x00];
  return Uint8Array.from([...preamble, 4, preamble.length, ...preamble, 9, 3, 0, 0, 0, 11, exports.length, ...exports]);
}

test("an uploaded component whose graph Solo's binding does not cover is VALIDATION_FAILED and says what it has", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-noglue-"));
  const host = await Host.open({ dataDir: join(dir, "data"), cacheDir: join(dir, "cache"), workers: 1 });
  try {
    const e = await rejects(host.deploy({ tenant: "a", service: "odd", source: uncoveredComponent(), language: "component" }), "VALIDATION_FAILED");
    assert.match(e.message, /does not cover \(section 9 \(a component start function\)\)/);
    assert.match(e.message, /deploy the TypeScript or JavaScript source instead/);
    assert.is(e.details?.item, "core-modules");
    assert.equal(host.list("a"), []);
    assert.not.ok(existsSync(join(dir, "cache", "glue")), "jco never saw it");
  } finally {
    await host.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
