import * as assert from "uvu/assert";
import { example, openHost, rejects, test } from "../helpers.ts";
import { COSTLY_START, TRAPPING_START } from "./guests.ts";

const MIB = 1024 * 1024;
const ENOUGH = { fuel: 1_000_000_000, memoryBytes: 32 * MIB };

test("a deploy of an artifact whose start code already ran makes no instance; its first call does", async () => {
  const t = await openHost({ workers: 1 });
  try {
    const { host } = t;
    const first = await host.deploy({ tenant: "a", service: "one", source: COSTLY_START, language: "assemblyscript", limits: ENOUGH });
    assert.ok(first.memoryBytes > 40 * 65536, "the first deploy ran the start code");
    const proven = host.stats().instances;
    assert.is(proven.deploysWithoutStart, 0);

    const second = await host.deploy({ tenant: "a", service: "two", source: COSTLY_START, language: "assemblyscript", limits: ENOUGH });
    assert.is(second.memoryBytes, first.memoryBytes, "the deploy answers what the instance will start with");
    assert.is(host.status("a", "two").memoryBytes, 0, "no instance yet");
    const lazy = host.stats().instances;
    assert.is(lazy.created, proven.created, "the deploy instantiated nothing");
    assert.is(lazy.deploysWithoutStart, 1);

    const r = await host.call("a", "two", "hello");
    assert.is(r.output, (await host.call("a", "one", "hello")).output, "the first call ran the same start code");
    assert.ok(r.memoryBytes > 40 * 65536);
    assert.is(host.stats().instances.created, proven.created + 1);

    // Larger limits are covered by the proof; other capabilities are not (a start may be denied an import).
    await host.deploy({ tenant: "a", service: "roomy", source: COSTLY_START, language: "assemblyscript", limits: { fuel: 2_000_000_000, memoryBytes: 64 * MIB } });
    assert.is(host.stats().instances.deploysWithoutStart, 2);
    await host.deploy({ tenant: "a", service: "quiet", source: COSTLY_START, language: "assemblyscript", limits: ENOUGH, capabilities: ["log"] });
    assert.is(host.stats().instances.deploysWithoutStart, 2, "new capabilities: proven again");
    assert.ok(host.status("a", "quiet").memoryBytes > 0);
  } finally {
    await t.close();
  }
});

test("start-code failures still answer the deploy: a new artifact, and a proven one under smaller limits", async () => {
  const t = await openHost({ workers: 1 });
  try {
    const { host } = t;
    // Never proven: each deploy runs the start code and answers its trap.
    for (const service of ["trap1", "trap2"]) {
      const e = await rejects(host.deploy({ tenant: "a", service, source: TRAPPING_START, language: "assemblyscript" }), "GUEST_TRAP");
      assert.match(e.message, /index out of range|out of range/i);
    }
    assert.equal(host.list("a"), []);

    await host.deploy({ tenant: "a", service: "ok", source: COSTLY_START, language: "assemblyscript", limits: ENOUGH });
    await rejects(host.deploy({ tenant: "a", service: "poor", source: COSTLY_START, language: "assemblyscript", limits: { ...ENOUGH, fuel: 1_000_000 } }), "FUEL_EXHAUSTED");
    await rejects(host.deploy({ tenant: "a", service: "tight", source: COSTLY_START, language: "assemblyscript", limits: { ...ENOUGH, memoryBytes: 2 * MIB } }), "MEMORY_LIMIT");
    assert.is(host.stats().instances.deploysWithoutStart, 0);
    assert.equal(host.list("a").map((s) => s.service), ["ok"]);

    // A tenant whose memory quota cannot hold what the proven start needs is refused at deploy, as before.
    await host.setQuotas("small", { memoryBytes: 2 * MIB });
    const q = await rejects(host.deploy({ tenant: "small", service: "big", source: COSTLY_START, language: "assemblyscript", limits: ENOUGH }), "RESOURCE_EXHAUSTED");
    assert.is(q.details?.quota, "memoryBytes");
    // An echo fits it, and is deployed without an instance once proven.
    await host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    await host.deploy({ tenant: "small", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    assert.is(host.status("small", "echo").memoryBytes, 0);
    assert.is((await host.call("small", "echo", "fits")).output, "fits");
  } finally {
    await t.close();
  }
});

test.run();
