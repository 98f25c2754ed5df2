// QuickJS seeds its own Math.random before the snapshot, so every instance of a service would
// draw the same numbers. The build gives Math.random the random import where the code writes
// `Math.random`; a guest that reaches it another way gets an error saying what to write, never
// numbers that repeat in every instance.
import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";

test("a copy of Math.random taken without naming it (const { random } = Math) fails with what to write", async () => {
  const t = await openHost();
  try {
    const source = `const { random } = Math;
export function handle(request: string): string {
  return String(random());
}`;
    for (const s of ["a", "b"]) await t.host.deploy({ tenant: "t", service: s, source, file: `${s}.ts` });
    for (const s of ["a", "b"]) {
      const e = await rejects(t.host.call("t", s, ""), "GUEST_ERROR");
      assert.match(e.message, /write Math\.random\(\)/);
    }
  } finally {
    await t.close();
  }
});

test("Math.random() written as such draws from the random import: two instances differ, copies taken after it too", async () => {
  const t = await openHost();
  try {
    const source = `const copy = Math.random;
export function handle(request: string): string {
  return String(Math.random()) + " " + String(copy());
}`;
    for (const s of ["a", "b"]) await t.host.deploy({ tenant: "t", service: s, source, file: `${s}.ts` });
    const [a, b] = await Promise.all(["a", "b"].map(async (s) => (await t.host.call("t", s, "")).output.split(" ").map(Number)));
    for (const x of [...a!, ...b!]) assert.ok(x >= 0 && x < 1, `${x} is in [0, 1)`);
    assert.is.not(a![0], b![0], "two instances draw different numbers");
    assert.equal(t.host.status("t", "a").interfaces, ["random"]);
  } finally {
    await t.close();
  }
});

test.run();
