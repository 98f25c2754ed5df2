// Under a steady in-process load (~1,000 calls/s), 20 swaps in a row between two versions that
// answer differently: no call fails, each reply comes from one of the two versions, never the
// old one once the swap was acknowledged, and the kv count runs on without a gap.
import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";
import { labelled, parse } from "./guests.ts";

const SWAPS = 20;

test("20 swaps under 1,000 calls/s: 0 failed calls, never the old version after the ack, kv kept", async () => {
  // This test is about swaps: admission (on by default) would shed the load's calls when the
  // machine is busy, which the governance tests cover; here every call must run.
  const t = await openHost({ admission: { enabled: false } });
  try {
    const { host } = t;
    const sources = [labelled("A"), labelled("B")];
    await host.deploy({ tenant: "load", service: "svc", source: sources[0]!, language: "assemblyscript" });
    // Compile B once before the clock starts: the load test is about the switch, not asc.
    await host.validate({ source: sources[1]!, language: "assemblyscript" });

    interface Sent { swapsAcked: number; reply?: string; error?: string; swapStartedBeforeReply?: boolean }
    const sent: Sent[] = [];
    let acked = 0; // swaps acknowledged so far
    let started = 0; // swaps begun so far
    let stop = false;
    const inflight = new Set<Promise<void>>();
    const load = (async () => {
      // 10 calls every 10 ms: about 1,000 a second.
      while (!stop) {
        for (let i = 0; i < 10; i++) {
          const s: Sent = { swapsAcked: acked };
          sent.push(s);
          const p = host.call("load", "svc", "x").then(
            (r) => { s.reply = r.output; s.swapStartedBeforeReply = started > s.swapsAcked; },
            (e) => { s.error = `${e.code}: ${e.message}`; },
          );
          inflight.add(p);
          void p.finally(() => inflight.delete(p));
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    const switchMs: number[] = [];
    await new Promise((r) => setTimeout(r, 100));
    for (let k = 1; k <= SWAPS; k++) {
      started = k;
      // Each swap opens a rollback window (the default) and ends the one before it.
      const r = await host.swap({ tenant: "load", service: "svc", source: sources[k % 2]!, language: "assemblyscript" });
      acked = k;
      assert.is(r.version, k + 1);
      switchMs.push(r.switchMs);
      await new Promise((r) => setTimeout(r, 50));
    }
    stop = true;
    await load;
    await Promise.all([...inflight]);

    const failed = sent.filter((s) => s.error);
    assert.equal(failed.map((s) => s.error), [], "no call failed");
    const label = (k: number) => (k % 2 === 0 ? "A" : "B"); // the label of the version swap k made current
    for (const s of sent) {
      const { label: l } = parse(s.reply!);
      assert.ok(l === "A" || l === "B", `reply ${s.reply} comes from one of the two versions`);
      // Sent after swap k was acknowledged: version k answers, or k+1 if that swap had begun.
      if (!s.swapStartedBeforeReply) assert.is(l, label(s.swapsAcked), `a call sent after swap ${s.swapsAcked} was acknowledged got ${s.reply}`);
    }
    // The count is the service's, not an instance's: every call counted once, no gap, no repeat.
    const counts = sent.map((s) => parse(s.reply!).count).sort((a, b) => a - b);
    assert.equal(counts, Array.from({ length: sent.length }, (_, i) => i + 1));
    assert.ok(sent.length >= SWAPS * 40, `the load kept running (${sent.length} calls)`);
    assert.is(host.status("load", "svc").version, SWAPS + 1);
    assert.is(host.versions("load", "svc").length, SWAPS + 1);
    assert.is(host.status("load", "svc").rollbackWindow?.previousVersion, SWAPS, "the last swap's window is open, against the version before it");
    for await (const e of host.events("load", { type: "hot_swap_rolled_back" })) assert.unreachable(`nothing failed, so nothing rolls back: ${JSON.stringify(e.data)}`);

    switchMs.sort((a, b) => a - b);
    console.log(`swap under load: ${sent.length} calls, 0 failed; switch time p50 ${switchMs[SWAPS >> 1]} ms, max ${switchMs[SWAPS - 1]} ms`);
  } finally {
    await t.close();
  }
});

test.run();
