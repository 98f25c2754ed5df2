// Which optional exports a guest has is read from its source at build time and reported on the
// artifact; guests with and without them deploy and answer through a real Host.
import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";
import { AS_BOTH, AS_MIGRATE_ONLY, AS_NEITHER, TS_BOTH, TS_MIGRATE_ONLY, TS_NEITHER, builds, instantiate, mapEnv } from "./lifecycle-guests.ts";

const CASES = [
  { language: "assemblyscript", name: "both", source: AS_BOTH, lifecycle: ["health", "migrate"], kind: "core" },
  { language: "assemblyscript", name: "migrate only", source: AS_MIGRATE_ONLY, lifecycle: ["migrate"], kind: "core" },
  { language: "assemblyscript", name: "neither", source: AS_NEITHER, lifecycle: [], kind: "core" },
  { language: "typescript", name: "both", source: TS_BOTH, lifecycle: ["health", "migrate"], kind: "component" },
  { language: "typescript", name: "migrate only", source: TS_MIGRATE_ONLY, lifecycle: ["migrate"], kind: "component" },
  { language: "typescript", name: "neither", source: TS_NEITHER, lifecycle: [], kind: "component" },
] as const;

test("the built artifact lists the optional exports the guest has, and its instances say the same", async () => {
  const b = builds();
  try {
    for (const c of CASES) {
      const artifact = await b.build(c.language, c.source);
      assert.is(artifact.run.kind, c.kind, `${c.language} ${c.name}`);
      assert.equal(artifact.lifecycle, [...c.lifecycle], `${c.language} ${c.name}`);
      if (artifact.run.kind === "core") assert.equal(artifact.run.lifecycle, artifact.lifecycle, "the core Runnable carries them to the worker");
      const instance = await instantiate(artifact, mapEnv(new Map()));
      assert.equal(instance.lifecycle, { health: c.lifecycle.includes("health" as never), migrate: c.lifecycle.includes("migrate" as never) }, `${c.language} ${c.name}`);
    }
  } finally {
    await b.close();
  }
});

test("guests with health and migrate, with migrate only, and with neither deploy and answer calls as before", async () => {
  const t = await openHost();
  try {
    for (const c of CASES) {
      const service = `${c.language === "typescript" ? "ts" : "as"}-${c.name.replace(" ", "-")}`;
      const d = await t.host.deploy({ tenant: "a", service, source: c.source, language: c.language });
      assert.is(d.version, 1);
      const out = (await t.host.call("a", service, "hi")).output;
      assert.is(out, c.source === AS_NEITHER || c.source === TS_NEITHER ? "plain:hi" : c.lifecycle.length === 2 ? "v2:hi" : "m:hi");
    }
  } finally {
    await t.close();
  }
});

test("an AssemblyScript health of the wrong type is VALIDATION_FAILED at the guest's own declaration that names the expected signature", async () => {
  const t = await openHost();
  try {
    const source = `export function handle(request: string): string { return request; }\nexport function health(): void {}\n`;
    const e = await t.host.deploy({ tenant: "a", service: "bad", source, language: "assemblyscript" }).then(() => undefined, (err: unknown) => err as { code: string; message: string; details: { findings: { rule: string; line: number; message: string }[] } });
    assert.ok(e, "the deploy must fail");
    assert.is(e!.code, "VALIDATION_FAILED");
    const d = e!.details.findings[0]!;
    assert.is(d.rule, "export-signature");
    assert.is(d.line, 2);
    assert.match(d.message, "health must be declared as `export function health(): string | null`");
  } finally {
    await t.close();
  }
});

test("a TypeScript health that is async is refused when it runs, with a message saying why", async () => {
  const b = builds();
  try {
    // Made where the text rules cannot see it is async (they refuse `async function health`);
    // the type check only warns by default.
    const artifact = await b.build("typescript", `export function handle(r: string): string { return r; }\nconst later = () => async (): Promise<void> => {};\nexport const health = later();\n`);
    assert.equal(artifact.lifecycle, ["health"]);
    const instance = await instantiate(artifact, mapEnv(new Map()));
    const out = instance.health(10_000_000);
    assert.is(out.ok, false);
    if (!out.ok) {
      assert.is(out.code, "GUEST_ERROR");
      assert.match(out.message, "health returned a Promise (health must not be async)");
    }
  } finally {
    await b.close();
  }
});

test.run();
