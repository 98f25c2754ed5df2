// A calls B calls C, each keeping its own kv; a trap in C fails only C's part (B gets the WIT
// error and answers on, A's and B's writes kept); A -> B -> A ends with limit-exceeded at once.
import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";

/** A service that counts its calls in kv and, unless it is the last, calls `next` with the request. */
const link = (name: string, next?: string) => `import { kv, services } from "solo";
function deeper(n: number): number {
  return deeper(n + 1) + 1; // a stack overflow: a trap, not a handled failure
}
export function handle(request: string): string {
  const n = Number(kv.get("n") ?? "0") + 1;
  kv.set("n", String(n));
  if (request === "trap" && ${next === undefined}) return String(deeper(0));
  if (request === "loop" && ${JSON.stringify(name)} === "b") {
    try { return "b(" + n + ") <- " + services.call("a", request); } catch (e) { return "b(" + n + ") got " + (e instanceof Error ? e.message : String(e)); }
  }
  ${next ? `let below: string;
  try { below = services.call(${JSON.stringify(next)}, request); } catch (e) { below = "error: " + (e instanceof Error ? e.message : String(e)); }
  return ${JSON.stringify(name)} + "(" + n + ") <- " + below;` : `return ${JSON.stringify(name)} + "(" + n + ")";`}
}
`;

test("A -> B -> C: each keeps its own state; C's trap fails only its part; A -> B -> A is limit-exceeded", async () => {
  const t = await openHost();
  try {
    const { host } = t;
    // A trapped call is charged its whole fuel limit, and a callee pays from its caller: C gets less.
    await host.deploy({ tenant: "t", service: "c", source: link("c"), language: "typescript", limits: { fuel: 200_000_000 } });
    await host.deploy({ tenant: "t", service: "b", source: link("b", "c"), language: "typescript", capabilities: ["kv", "call:c", "call:a"] });
    await host.deploy({ tenant: "t", service: "a", source: link("a", "b"), language: "typescript", capabilities: ["kv", "call:b"] });

    assert.is((await host.call("t", "a", "x")).output, "a(1) <- b(1) <- c(1)");
    assert.is((await host.call("t", "a", "x")).output, "a(2) <- b(2) <- c(2)");
    assert.is((await host.call("t", "c", "x")).output, "c(3)", "C's state is its own, called directly too");

    // C traps: B gets the WIT error with C's code and answers on; A and B keep their counts.
    const trapped = (await host.call("t", "a", "trap")).output;
    assert.match(trapped, /^a\(3\) <- b\(3\) <- error: unavailable: GUEST_TRAP: /);
    assert.is((await host.call("t", "a", "x")).output, "a(4) <- b(4) <- c(4)", "C's trapped call kept nothing; it was re-created");
    assert.is(host.status("t", "c").errors.GUEST_TRAP, 1);

    // A -> B -> A: refused before anything re-enters A.
    const started = performance.now();
    const loop = (await host.call("t", "a", "loop")).output;
    assert.match(loop, /^a\(5\) <- b\(5\) got limit-exceeded: call cycle: a -> b -> a/);
    console.log(`A -> B -> A answered in ${(performance.now() - started).toFixed(1)} ms`);
  } finally {
    await t.close();
  }
});

test.run();
