import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test, type TestHost } from "../helpers.ts";

// A call that overruns its deadline has its worker replaced; the calls queued behind it are sent
// to the new worker. They must run in the order they were made: a counter's answers then come
// back 1, 2, 3... (two writes to one key, made in order, land in order). Each round starts at a
// different call id, so the calls in flight sit across every position of the pool's call table
// (call-table.ts lists them oldest first; its slot order wraps around the table's end).

let t: TestHost;

test.before(async () => {
  t = await openHost({ workers: 1 });
  await t.host.deploy({ tenant: "a", service: "loop", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 10_000_000_000, deadlineMs: 300 } });
  await t.host.deploy({ tenant: "a", service: "counter", source: example("counter.as.ts"), language: "assemblyscript" });
});
test.after(async () => {
  await t?.close();
});

test("calls queued behind a call that overran its deadline run in the order they were made", async () => {
  const QUEUED = 40;
  for (let round = 0; round < 10; round++) {
    // Moves the next call id on by 17 more each round: ten rounds cover every offset the table can wrap at.
    for (let i = 0; i < 17 * round; i++) await t.host.call("a", "counter", "x");
    await t.host.call("a", "counter", "reset");
    const long = t.host.call("a", "loop", "");
    const queued = Array.from({ length: QUEUED }, () => t.host.call("a", "counter", "x"));
    await rejects(long, "DEADLINE_EXCEEDED");
    const outputs = (await Promise.all(queued)).map((r) => Number(r.output));
    assert.equal(outputs, Array.from({ length: QUEUED }, (_, i) => i + 1), `round ${round}: the counter's answers in the order the calls were made`);
  }
  // The host kept working: a fresh call answers after the last of them.
  assert.is((await t.host.call("a", "counter", "x")).output, String(QUEUED + 1));
});

test.run();
