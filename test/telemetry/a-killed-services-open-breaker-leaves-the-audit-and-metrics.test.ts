// A service killed while its circuit breaker is open is gone: the audit must not go on reporting
// it (degraded for ever, naming a service that no longer exists), /metrics must not count it, and
// the same name deployed again starts with a closed breaker that the audit reports as healthy.
import * as assert from "uvu/assert";
import { example, fixture, openHost, rejects, test } from "../helpers.ts";

test("killing a service whose breaker is open clears it from the audit and /metrics; a redeploy under the same name is healthy", async () => {
  const t = await openHost({ workers: 1, breaker: { minCalls: 3, coolDownMs: 60_000 } });
  try {
    await t.host.deploy({ tenant: "acme", service: "flaky", source: fixture("loop.as.ts"), language: "assemblyscript", limits: { fuel: 1_000_000 } });
    for (let i = 0; i < 3; i++) await rejects(t.host.call("acme", "flaky", "x"), "FUEL_EXHAUSTED");
    assert.is(t.host.status("acme", "flaky").circuit.state, "open");
    const open = await t.host.audit();
    assert.is(open.components.services.status, "degraded");
    assert.equal(open.components.services.details.openBreakers, [{ tenant: "acme", service: "flaky", state: "open" }]);

    await t.host.kill("acme", "flaky");
    const killed = await t.host.audit();
    assert.is(killed.components.services.status, "healthy", JSON.stringify(killed.components.services));
    assert.equal(killed.components.services.details.openBreakers, []);
    assert.match(await t.host.metrics(), /^solo_circuit_breakers\{state="open"\} 0$/m);

    await t.host.deploy({ tenant: "acme", service: "flaky", source: example("echo.as.ts"), language: "assemblyscript" });
    assert.is((await t.host.call("acme", "flaky", "ok")).output, "ok");
    assert.is(t.host.status("acme", "flaky").circuit.state, "closed");
    const again = await t.host.audit();
    assert.is(again.components.services.status, "healthy", JSON.stringify(again.components.services));
  } finally {
    await t.close();
  }
});

test.run();
