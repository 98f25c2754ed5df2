// status().interfaces lists the solo:agent interfaces the service's component imports, and a
// TypeScript/JavaScript component imports only those its code uses: the solo names it calls, and
// log / clock / random when it mentions console / Date / Math.random.
import * as assert from "uvu/assert";
import { compileJavaScript } from "../../host/compile/javascript.ts";
import { readComponent } from "../../host/wasm/index.ts";
import { openHost, test } from "../helpers.ts";

const GUESTS: Record<string, { source: string; interfaces: string[]; answer: string }> = {
  // Imports nothing: no log, clock or random just for being a TypeScript guest.
  plain: { source: `export function handle(request: string): string { return request + "!"; }`, interfaces: [], answer: "hi!" },
  // A namespace import counts the names read from it; Math.random is random.
  store: {
    source: `import * as solo from "solo";
export function handle(request: string): string {
  solo.kv.set("last", request);
  return (solo.kv.get("last") ?? "") + (Math.random() < 1 ? "" : "?");
}`,
    interfaces: ["kv", "random"],
    answer: "hi",
  },
  // console (also through globalThis) is log, Date is clock; a denied secret still imports secrets.
  greet: {
    source: `import { secrets } from "solo";
export function handle(request: string): string {
  globalThis.console.info("greeting", request);
  let greeting = "Hello";
  try { greeting = secrets.get("greeting"); } catch (e) { console.warn(String(e)); }
  return greeting + " " + request + " in " + new Date().getUTCFullYear();
}`,
    interfaces: ["clock", "log", "secrets"],
    answer: `Hello hi in ${new Date().getUTCFullYear()}`,
  },
};

test("a TypeScript service's status lists only the interfaces its code uses, and its deploy and event say the same", async () => {
  const t = await openHost();
  try {
    for (const [service, g] of Object.entries(GUESTS)) {
      const d = await t.host.deploy({ tenant: "a", service, source: g.source, file: `${service}.ts` });
      assert.equal(d.interfaces, g.interfaces, `${service}: deploy result`);
      assert.equal(t.host.status("a", service).interfaces, g.interfaces, `${service}: status`);
      assert.is((await t.host.call("a", service, "hi")).output, g.answer, `${service} still answers`);
    }
    const recorded: unknown[] = [];
    for await (const e of t.host.events("a", { type: "service_deployed" })) recorded.push([e.service, (e.data as { interfaces: string[] }).interfaces]);
    assert.equal(recorded, Object.entries(GUESTS).map(([s, g]) => [s, g.interfaces]));
  } finally {
    await t.close();
  }
});

test("the QuickJS component itself imports nothing its guest does not use", async () => {
  const component = readComponent(await compileJavaScript(GUESTS.store!.source, "store.ts", "typescript"));
  const imports = component.imports.filter((name) => name !== "solo:agent/types@0.1.0");
  assert.equal(imports.sort(), ["solo:agent/kv@0.1.0", "solo:agent/random@0.1.0"]);
});

test("an AssemblyScript service lists what its module imports: the names it calls, and log for the runtime's abort", async () => {
  const t = await openHost();
  try {
    const source = `import { kv } from "solo";
export function handle(request: string): string {
  kv.set("last", request);
  return request;
}`;
    await t.host.deploy({ tenant: "a", service: "store", source, file: "store.as.ts" });
    assert.equal(t.host.status("a", "store").interfaces, ["kv", "log"]);
  } finally {
    await t.close();
  }
});

test.run();
