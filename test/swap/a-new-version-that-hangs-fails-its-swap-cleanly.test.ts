// A new version whose start code, health export or migrate runs past its deadline gets its worker
// replaced by the watchdog. The swap fails with DEADLINE_EXCEEDED; the old version still serves
// with its kv, every other service on the worker comes back, and no call is left waiting at the
// switch gate.
import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";
import { labelled } from "./guests.ts";

// 1e10 fuel units outlast a 400 ms deadline (~1e9 units a tenth of a second).
const SLOW = { fuel: 10_000_000_000, deadlineMs: 400 };
const spin = "let n: i32 = 0; while (true) { n++; }";

const HANGS = {
  "start code": labelled("h").replace("export function handle", `let spins: i32 = 0;\nif (kv.get("count") !== null) { while (true) { spins++; } }\nexport function handle`),
  "health export": labelled("h") + `\nexport function health(): string | null { ${spin} return null; }\n`,
  migrate: labelled("h") + `\nexport function migrate(fromVersion: u32): string | null { ${spin} return null; }\n`,
};

for (const [what, source] of Object.entries(HANGS)) {
  test(`a new version whose ${what} hangs: DEADLINE_EXCEEDED, the old version and its neighbours serve, no call hangs`, async () => {
    const t = await openHost({ workers: 1 });
    try {
      const { host } = t;
      await host.deploy({ tenant: "a", service: "c", source: labelled("v1"), language: "assemblyscript" });
      await host.deploy({ tenant: "a", service: "o", source: labelled("o"), language: "assemblyscript" });
      assert.is((await host.call("a", "c", "x")).output, "v1:1");
      const swap = rejects(host.swap({ tenant: "a", service: "c", source, language: "assemblyscript", limits: SLOW, rollbackWindowMs: 0 }), "DEADLINE_EXCEEDED");
      // Calls of both services while the swap runs (some may wait at the gate).
      const during: Promise<string>[] = [];
      const ticker = setInterval(() => during.push(host.call("a", "c", "x").then((r) => r.output, (e) => `${e.code}`)), 25);
      await swap;
      clearInterval(ticker);
      const outs = await Promise.all(during);
      assert.ok(outs.every((o) => o.startsWith("v1:")), `every call during the swap answered as version 1: ${outs.join(", ")}`);
      const s = host.status("a", "c");
      assert.equal([s.version, s.state, s.limits.deadlineMs], [1, "running", 5000]);
      assert.is((await host.call("a", "c", "x")).output, `v1:${outs.length + 2}`, "the count carried on, nothing of the new version kept");
      assert.is((await host.call("a", "o", "x")).output, "o:1", "the neighbour came back");
      assert.ok(host.stats().workerRestarts >= 1);
    } finally {
      await t.close();
    }
  });
}

test.run();
