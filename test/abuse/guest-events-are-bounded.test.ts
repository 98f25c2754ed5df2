import * as assert from "uvu/assert";
import type { SoloEvent } from "../../host/index.ts";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

// The documented bounds (docs/API.md, Events): 20 events at once per service, then 10 a second;
// strings clipped to 1024 characters plus a marker; lists to 20 items plus a marker.
const BURST = 20;
const PER_SECOND = 10;
const CLIP = 1024;
const MARKER = /\.\.\. \(clipped, (\d+) chars\)$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventsOf(host: Awaited<ReturnType<typeof openHost>>["host"], tenant: string, type: SoloEvent["type"]): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of host.events(tenant, { type })) out.push(e);
  return out;
}

test("a guest that traps with a 60 KB message 50 times fast writes clipped crash events within the budget, counting the rest", async () => {
  // What bounds the events here is the event budget alone: crash supervision (which backs such a
  // loop off after 3 crashes and fails it after 10; test/swap) and the circuit breaker (open
  // after 20 failures; test/governance) are set out of the way.
  const t = await openHost({ supervision: { crashesBeforeBackoff: 1000, crashLimit: 1000 }, breaker: { enabled: false } });
  try {
    await t.host.deploy({ tenant: "a", service: "shouter", source: fixture("shouter.as.ts"), language: "assemblyscript" });
    await t.host.deploy({ tenant: "b", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });

    const started = performance.now();
    const calls = Array.from({ length: 50 }, () => rejects(t.host.call("a", "shouter", ""), "GUEST_TRAP"));
    const other = t.host.call("b", "echo", "still here");
    const errors = await Promise.all(calls);
    const elapsedMs = performance.now() - started;
    assert.is((await other).output, "still here", "another tenant's service answers during the burst");
    // The caller's error is whatever the sandbox reported (the runtime may bound it too); it is
    // longer than an event may hold, and the same for every call.
    const full = errors[0]!.message;
    // The trap names the guest's line first (shouter.as.ts), then the guest's message.
    assert.match(full, /^(shouter\.as\.ts:\d+:\d+ \(\w+\): )?guest trapped: !{1000}/);
    assert.ok(full.length > CLIP);
    for (const e of errors) assert.is(e.message, full);

    // Past 1/PER_SECOND the bucket holds a token again: the next crash is written, with the count.
    await sleep(2000 / PER_SECOND);
    await rejects(t.host.call("a", "shouter", ""), "GUEST_TRAP");
    assert.is((await t.host.call("b", "echo", "after")).output, "after");

    const crashed = await eventsOf(t.host, "a", "service_crashed");
    const burst = crashed.slice(0, -1);
    const last = crashed.at(-1)!;
    const allowed = BURST + Math.ceil((PER_SECOND * elapsedMs) / 1000);
    console.log(`  50 trapping calls took ${elapsedMs.toFixed(0)} ms: ${burst.length} events written, ${String(last.data.suppressed ?? 0)} suppressed`);
    assert.ok(burst.length <= allowed, `${burst.length} events for 50 crashes in ${elapsedMs.toFixed(0)} ms; the budget allows ${allowed}`);
    for (const e of crashed) {
      const message = String(e.data.message);
      const m = MARKER.exec(message);
      assert.ok(m, "the message is clipped, with a marker");
      assert.is(Number(m![1]), full.length, "the marker gives the length of the caller's message");
      const kept = message.slice(0, -m![0].length);
      assert.ok(kept.length <= CLIP);
      assert.is(kept, full.slice(0, kept.length), "the event keeps the start of the caller's message");
    }
    // Every crash is either an event or counted in the `suppressed` of the next one written.
    assert.is(burst.filter((e) => e.data.suppressed !== undefined).length, 0, "nothing was suppressed before the first events");
    assert.is(last.data.suppressed ?? 0, 50 - burst.length, "the event after the burst says how many were left out");
    assert.is(t.host.status("a", "shouter").errors.GUEST_TRAP, 51, "status counts every crash");
    assert.equal((await eventsOf(t.host, "b", "service_crashed")).length, 0);
    assert.equal((await t.host.verifyEvents()).ok, true);
  } finally {
    await t.close();
  }
});

test("a failed deploy's event keeps the first findings and a clipped message; the caller gets them all", async () => {
  const t = await openHost();
  try {
    const source = `export function handle(r: string): string {\n${"  eval(r);\n".repeat(500)}  return r;\n}\n`;
    const e = await rejects(t.host.deploy({ tenant: "a", service: "evil", source, language: "typescript" }), "VALIDATION_FAILED");
    assert.is((e.details?.findings as unknown[]).length, 500, "the caller gets every finding");
    const [failed] = await eventsOf(t.host, "a", "service_deployment_failed");
    const findings = (failed!.data.details as { findings: unknown[] }).findings;
    assert.is(findings.length, 21, "20 findings and a marker");
    assert.is(findings[20], "... (clipped, 500 items)");
    assert.equal(findings[0], (e.details!.findings as unknown[])[0]);
  } finally {
    await t.close();
  }
});

test.run();
