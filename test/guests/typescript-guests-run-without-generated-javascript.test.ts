// A TypeScript guest is a component of eleven core modules (QuickJS engine, WASI adapter, shims,
// stubs). Solo wires them itself from a plan of the component's graph: no JavaScript is generated
// from the component, so none can run in the worker. A component whose graph the plan does not
// cover would need jco's glue, which an upload never gets.
import * as assert from "uvu/assert";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { writeFileSync } from "node:fs";
import { Host } from "../../host/index.ts";
import { compileJavaScript } from "../../host/compile/javascript.ts";
import { ComponentSandbox } from "../../host/runtime/component-sandbox.ts";
import { GlueSandbox, type Glue } from "../../host/runtime/glue-sandbox.ts";
import { witOk, type GuestEnv } from "../../host/runtime/index.ts";
import { DEFAULT_METER_SETTINGS, ensureWasmFeatures, meter, planComponent } from "../../host/wasm/index.ts";
import { walkCoreModules } from "../../host/wasm/component.ts";
import { transpileComponent } from "../../host/wasm/transpile.ts";
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

const env: GuestEnv = {
  log: () => {}, kvGet: () => witOk(undefined), kvSet: () => witOk(undefined), kvDelete: () => witOk(undefined), kvKeys: () => witOk([]), kvCount: () => 0,
  secretGet: () => ({ ok: false, kind: "access-denied", message: "" }), serviceCall: () => ({ ok: false, kind: "access-denied", message: "" }),
  emit: () => witOk(undefined), nextU64: () => 1n, nowMs: () => 0n, monotonicNs: () => 0n, randomFill: (t) => void t.fill(1),
};

/**
 * One guest for both runner tests: a number counts (instructions only); anything else calls every
 * import, with non-ASCII strings, values found and not, and errors that carry messages.
 */
const BOTH_GUEST = `import { clock, events, kv, log, random, secrets, services } from "solo";
export function handle(request: string): string {
  if (/^[0-9]+$/.test(request)) {
    let s = "";
    for (let i = 0; i < Number(request); i++) s += String(i % 10);
    if (s.length > 50) throw new Error("too long: " + s.length);
    return s;
  }
  log.info("got " + request);
  kv.set("k:" + request, request + " é中");
  kv.set("k:other", "x");
  const found = kv.get("k:" + request) ?? "";
  const missing = kv.get("missing") ?? "-";
  const keys = kv.keys("k:").join(",");
  kv.delete("k:other");
  const t = clock.nowMs() + Number(clock.monotonicNs() % 7n) + Number(random.nextU64() % 5n);
  let secret = "";
  try { secret = secrets.get("db-é"); } catch (e) { secret = String(e); }
  let called = "";
  try { called = services.call("other", request); } catch (e) { called = String(e); }
  events.emit("seen", { request });
  return [found, missing, keys, t, secret.length, called.length].join("|");
}
`;

/** A kv map of its own, secrets and service calls refused with a message, fixed clock and random. */
function envWithKv(): GuestEnv {
  const kv = new Map<string, string>();
  const denied = (what: string) => ({ ok: false as const, kind: "access-denied" as const, message: `${what} is not granted to this service; deploy it with capability "x"` });
  return {
    ...env,
    kvGet: (k) => witOk(kv.get(k)),
    kvSet: (k, v) => (kv.set(k, v), witOk(undefined)),
    kvDelete: (k) => (kv.delete(k), witOk(undefined)),
    kvKeys: (p) => witOk([...kv.keys()].filter((k) => k.startsWith(p)).sort()),
    kvCount: () => kv.size,
    secretGet: (n) => denied(`secret ${n}`),
    serviceCall: (s) => denied(`service ${s}`),
    nowMs: () => 1_700_000_000_000n,
    monotonicNs: () => 123n,
    nextU64: () => 99n << 11n,
  };
}

/** BOTH_GUEST's component, compiled once; each call makes new instances of it run both ways: through jco's glue, and from its plan on Solo's binding (each with its own env). */
let compiled: Promise<{ glue: Glue; glueModules: Record<string, WebAssembly.Module>; plan: ReturnType<typeof planComponent>; modules: WebAssembly.Module[] }> | undefined;
const runnersDir = mkdtempSync(join(tmpdir(), "solo-noglue-"));
async function bothRunners(): Promise<{ old: GlueSandbox; now: ComponentSandbox }> {
  const c = await (compiled ??= (async () => {
    ensureWasmFeatures();
    const component = await compileJavaScript(BOTH_GUEST, "guest.ts", "typescript");
    const shared = { ...DEFAULT_METER_SETTINGS, sharedCounters: true };
    const t = await transpileComponent(component);
    writeFileSync(join(runnersDir, "package.json"), '{"type":"module"}');
    writeFileSync(join(runnersDir, "guest.js"), t.glue);
    const glue = (await import(pathToFileURL(join(runnersDir, "guest.js")).href)) as Glue;
    const walked = walkCoreModules(component);
    return {
      glue,
      glueModules: Object.fromEntries(Object.entries(t.modules).map(([n, b]) => [n, new WebAssembly.Module(meter(b, shared).bytes)])),
      plan: planComponent(component, walked),
      modules: walked.map((b) => new WebAssembly.Module(meter(b, shared).bytes)),
    };
  })());
  return { old: new GlueSandbox(c.glue, c.glueModules, envWithKv(), 64 << 20, 50_000_000), now: new ComponentSandbox(c.plan, c.modules, envWithKv(), 64 << 20, 50_000_000) };
}

test("the same metered modules charge the same fuel and hold the same memory on Solo's binding as through jco's glue", async () => {
  const { old, now } = await bothRunners();
  for (const request of ["3", "40", "60"]) {
    const a = old.call(request, 50_000_000, 1 << 20);
    const b = now.call(request, 50_000_000, 1 << 20);
    assert.equal(b, a, `handle(${request})`);
  }
  const tight = [old.call("40", 20_000, 1 << 20), now.call("40", 20_000, 1 << 20)];
  assert.is(tight[1]!.ok ? "ok" : tight[1]!.code, "FUEL_EXHAUSTED");
  assert.equal(tight[1], tight[0], "running out of fuel is the same failure");
});

test("a guest calling every import is charged the same fuel on Solo's binding as through jco's glue", async () => {
  const { old, now } = await bothRunners();
  for (const request of ["a", "héllo wörld", "x".repeat(3000)]) {
    const a = old.call(request, 50_000_000, 1 << 20);
    const b = now.call(request, 50_000_000, 1 << 20);
    assert.ok(b.ok, `handle(${request.slice(0, 20)}) on the binding: ${JSON.stringify(b).slice(0, 300)}`);
    assert.equal(b, a, `handle(${request.slice(0, 20)})`);
  }
});

test.after(() => rmSync(runnersDir, { recursive: true, force: true }));

test.run();
