// Label cardinality: with 1,000 tenants calling, /metrics holds at most topK + 1 tenant values
// (the busiest tenants, the rest summed in "_other"), no count is lost in the folding, a tenant
// that becomes the busiest gets its own label at the next ranking, and caller-chosen metrics
// (emit, measure) stay bounded too.
import * as assert from "uvu/assert";
import { Metrics, OTHER } from "../../host/telemetry/index.ts";
import { openHost, rejects, test } from "../helpers.ts";
import { labelValues, parsePrometheus } from "./prometheus.ts";

const tenant = (i: number) => `t${String(i).padStart(4, "0")}`;

test("1,000 tenants calling a real host: at most topK + 1 tenant label values, and every call counted", async () => {
  const t = await openHost({ workers: 1, metrics: { topK: 10 } });
  try {
    // Calls to services that do not exist go through Host.call like any other and are answered
    // NOT_FOUND: 1,000 tenants without 1,000 deploys.
    for (let i = 0; i < 1000; i++) await rejects(t.host.call(tenant(i), "nope", ""), "NOT_FOUND");
    // A name the host refuses never takes a label.
    await rejects(t.host.call("Not A Tenant", "nope", ""), "INVALID_ARGUMENT");
    const m = parsePrometheus(await t.host.metrics());
    const tenants = labelValues(m, "tenant");
    assert.ok(tenants.size <= 11, `${tenants.size} tenant label values`);
    assert.ok(tenants.has(OTHER));
    assert.ok(!tenants.has("Not A Tenant"));
    const calls = m.find("solo_calls_total");
    assert.is(calls.reduce((n, s) => n + s.value, 0), 1001, "folding into _other loses no call");
    assert.is(m.find("solo_call_duration_seconds_count").reduce((n, s) => n + s.value, 0), 1001);
    assert.ok(m.samples.length < 400, `${m.samples.length} samples in all`);
  } finally {
    await t.close();
  }
});

test("a tenant that becomes the busiest gets its own label at the next ranking; the one it displaces loses its series", async () => {
  let now = 0;
  const m = new Metrics({ topK: 3, rerankMs: 60_000, now: () => now, processMetrics: false });
  for (let i = 0; i < 1000; i++) m.callDone(tenant(i), "OK", 0.001, 10);
  let scrape = parsePrometheus(await m.text());
  assert.equal([...labelValues(scrape, "tenant")].sort(), [OTHER, tenant(0), tenant(1), tenant(2)], "first come until the slots are taken");
  // t0999 becomes by far the busiest; t0000 and t0001 stay busy; t0002 goes quiet.
  for (let i = 0; i < 500; i++) {
    m.callDone(tenant(999), "OK", 0.001, 10);
    m.callDone(tenant(0), "OK", 0.001, 10);
    m.callDone(tenant(1), "OK", 0.001, 10);
  }
  now += 60_000;
  scrape = parsePrometheus(await m.text());
  assert.equal([...m.tenants.labelled()].sort(), [tenant(0), tenant(1), tenant(999)]);
  assert.equal([...labelValues(scrape, "tenant")].sort(), [OTHER, tenant(0), tenant(1)], "the displaced tenant's series are gone");
  // From now on t0999's calls count under its own name (its earlier ones stay in _other).
  m.callDone(tenant(999), "OK", 0.001, 10);
  scrape = parsePrometheus(await m.text());
  assert.is(scrape.value("solo_calls_total", { tenant: tenant(999), code: "OK" }), 1);
  assert.equal([...labelValues(scrape, "tenant")].sort(), [OTHER, tenant(0), tenant(1), tenant(999)]);
});

test("emit and measure: names are checked, and label sets past 100 per metric fold into _other", async () => {
  const m = new Metrics({ processMetrics: false });
  for (let i = 0; i < 500; i++) m.emit("widgets", 1, { kind: `k${i}` });
  assert.is(m.measure("step", () => 42), 42);
  assert.is(await m.measure("async_step", async () => "done"), "done");
  assert.throws(() => m.emit("Bad Name", 1), /metric name/);
  const scrape = parsePrometheus(await m.text());
  const widgets = scrape.find("solo_widgets_total");
  assert.is(widgets.length, 101, "100 label sets, then _other");
  assert.is(scrape.value("solo_widgets_total", { kind: OTHER }), 400);
  assert.is(scrape.value("solo_step_seconds_count"), 1);
  assert.is(scrape.value("solo_async_step_seconds_count"), 1);
});

test("a host opened with metrics: false counts nothing and says so when asked", async () => {
  const t = await openHost({ workers: 1, metrics: false });
  try {
    await rejects(t.host.call("a", "nope", ""), "NOT_FOUND");
    const err = await rejects(t.host.metrics(), "UNAVAILABLE");
    assert.match(err.message, /metrics: false/);
  } finally {
    await t.close();
  }
});

test.run();
