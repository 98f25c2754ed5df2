// AssemblyScript's lastError() is what guest-sdk/README.md says: a SoloError (kind, message,
// toString() "kind: message", the text a TypeScript guest's Error carries), or null once an
// import succeeds.
import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";

const AS_GUEST = `import { kv, secrets, lastError, ErrorKind, SoloError } from "solo";
export function handle(request: string): string {
  const secret = secrets.get("greeting");
  const e: SoloError | null = lastError();
  if (secret !== null || e === null) return "no error";
  const kind = e.kind == ErrorKind.AccessDenied ? "AccessDenied" : "another kind";
  const stored = kv.set("k", "v");
  const after = lastError();
  return kind + "\\n" + e.message + "\\n" + e.toString() + "\\n" + (stored && after === null ? "null after a success" : "still set");
}`;

const TS_GUEST = `import { secrets } from "solo";
export function handle(request: string): string {
  try {
    secrets.get("greeting");
    return "no error";
  } catch (e) {
    return (e as Error).message;
  }
}`;

test("lastError() is a SoloError whose kind, message and toString() say why; null after an import that succeeded", async () => {
  const t = await openHost();
  try {
    await t.host.deploy({ tenant: "a", service: "as", source: AS_GUEST, file: "as.as.ts", capabilities: ["kv"] });
    await t.host.deploy({ tenant: "a", service: "ts", source: TS_GUEST, file: "ts.ts", capabilities: ["kv"] });
    const [kind, message, text, after] = (await t.host.call("a", "as", "")).output.split("\n");
    assert.is(kind, "AccessDenied");
    assert.match(message!, /secret:greeting/, "the message names the capability to add");
    assert.is(text, `access-denied: ${message}`);
    assert.is(after, "null after a success");
    assert.is((await t.host.call("a", "ts", "")).output, text, "a TypeScript guest's Error says the same");
  } finally {
    await t.close();
  }
});

test.run();
