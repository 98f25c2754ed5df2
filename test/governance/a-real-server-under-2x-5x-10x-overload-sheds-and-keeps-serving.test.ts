// Overload against a real server (gRPC over mutual TLS, one guest worker): closed-loop clients
// (in a child process, overload.ts) offer 2x, 5x and 10x the measured capacity for a few seconds each. The server does not crash
// (it answers afterwards, its worker never replaced), and every reply is a success or
// UNAVAILABLE with retryAfterMs. Printed (goals, not asserted): goodput as a share of capacity
// (>= 90% / 85% / 80%), p99 time to refuse (< 5 ms), process memory.
import * as assert from "uvu/assert";
import { test } from "../helpers.ts";
import { overload } from "./overload.ts";

test("at 2x, 5x and 10x capacity every reply is a success or UNAVAILABLE with retryAfterMs, and the server keeps serving", async () => {
  const r = await overload([2, 5, 10], 3);
  for (const l of r.levels) {
    assert.equal(l.other, [], `${l.level}x: only successes and refusals with retryAfterMs`);
    assert.ok(l.ok > 0, `${l.level}x: calls were served`);
    // Capacity is measured once, on a machine other test files share: a busy spell then can
    // halve it (seen in CI: 46 calls/s measured, 76 served at "2x" with none refused). From 5x
    // on, even a capacity measured at half leaves the server well past what it can serve.
    if (l.level >= 5) assert.ok(l.refused > 0, `${l.level}x: calls past capacity were refused`);
  }
  assert.ok(r.alive, "the server answers after the overload");
  assert.is(r.workerRestarts, 0, "no worker was replaced");
  console.log(`  server RSS ${r.rssBeforeMb} MB before, peak ${Math.max(...r.levels.map((l) => l.rssMb))} MB during`);
  console.log(`  goals: goodput ${r.levels.map((l) => `${l.level}x ${(100 * l.goodput).toFixed(0)}%`).join(", ")} (>= 90/85/80%); p99 refuse ${r.levels.map((l) => `${l.level}x ${l.p99RefuseMs.toFixed(1)} ms`).join(", ")} (< 5 ms); admission ${JSON.stringify(r.admission)}`);
});

test.run();
