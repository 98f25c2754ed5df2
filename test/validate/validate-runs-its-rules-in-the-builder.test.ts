// Host.validate is an API method every tenant may call. Its rules lex the whole source (a
// megabyte of nesting takes seconds), so they run in the builder process for every source
// language, like the type check, not on the API thread that serves everyone's calls; only the
// size check answers at once.
import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";

/** solo_builds_total summed over outcomes, from the host's Prometheus text. */
async function builds(metrics: string): Promise<number> {
  return metrics.split("\n").filter((l) => l.startsWith("solo_builds_total{")).reduce((n, l) => n + Number(l.split(" ").pop()), 0);
}

test("an AssemblyScript and a JavaScript validate are answered by the builder, with the same findings", async () => {
  const t = await openHost();
  try {
    const before = await builds(await t.host.metrics());
    const as = await t.host.validate({ source: "export function handle(r: string): string {\n  return eval(r);\n}\n", language: "assemblyscript" });
    assert.equal(as.findings.map((f) => `${f.severity} ${f.rule} ${f.line}:${f.column}`), ["error no-eval 2:10"]);
    const js = await t.host.validate({ source: "export function handle(r) {\n  return new Function(r)();\n}\n", language: "javascript", file: "f.js" });
    assert.equal(js.findings.map((f) => `${f.severity} ${f.rule} ${f.line}:${f.column}`), ["error no-function-constructor 2:10"]);
    assert.is((await builds(await t.host.metrics())) - before, 2, "two check jobs ran in the builder");

    // Too large: answered at once, nothing sent to the builder.
    const big = await t.host.validate({ source: "x".repeat(2 * 1024 * 1024), language: "assemblyscript" });
    assert.equal(big.findings.map((f) => f.rule), ["source-size"]);
    assert.is((await builds(await t.host.metrics())) - before, 2);
  } finally {
    await t.close();
  }
});

test.run();
