import * as assert from "uvu/assert";
import { example, openHost, test } from "../helpers.ts";

const SERVICES = 10_000;
const TENANTS = 20; // the default quota allows 1,000 services per tenant
const CAP = 50; // live instances per worker

/** Runs `fn` for 0..n-1, at most `width` at a time. */
async function each(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await fn(next++);
  }));
}

test(`${SERVICES} deployed echo services all answer, with at most ${CAP} live instances per worker`, async () => {
  // Admission off: the calls are sent 100 at a time on purpose, and each re-creates an instance.
  const t = await openHost({ workers: 2, maxLiveInstances: CAP, idleMs: 0, admission: { enabled: false } });
  try {
    const { host } = t;
    const source = example("echo.as.ts");
    const name = (i: number) => [`t${i % TENANTS}`, `echo${i}`] as const;
    const started = performance.now();
    await each(SERVICES, 100, async (i) => {
      const [tenant, service] = name(i);
      await host.deploy({ tenant, service, source, language: "assemblyscript" });
    });
    console.log(`  ${SERVICES} deploys: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    let stats = host.stats().instances;
    assert.is(stats.services, SERVICES);
    assert.ok(stats.deploysWithoutStart >= SERVICES - 100, `deploys without an instance: ${stats.deploysWithoutStart}`);
    assert.ok(stats.live <= 2 * CAP, `live after the deploys: ${stats.live}`);

    // Every one answers; each call makes its service's instance, and the cap drops the least recently used.
    const began = performance.now();
    await each(SERVICES, 100, async (i) => {
      const [tenant, service] = name(i);
      const r = await host.call(tenant, service, `hi ${i}`);
      assert.is(r.output, `hi ${i}`);
    });
    console.log(`  ${SERVICES} calls: ${((performance.now() - began) / 1000).toFixed(1)} s`);
    stats = host.stats().instances;
    assert.ok(stats.live <= 2 * CAP, `live after the calls: ${stats.live}`);
    assert.ok(stats.created >= SERVICES, `created ${stats.created}`);
    assert.ok(stats.evicted >= stats.created - 2 * CAP, `evicted ${stats.evicted} of ${stats.created}`);
    // Status says what is live: at most the cap's worth of services hold memory.
    let holding = 0;
    for (let k = 0; k < TENANTS; k++) for (const s of host.list(`t${k}`)) if (s.memoryBytes > 0) holding++;
    assert.ok(holding > 0 && holding <= 2 * CAP, `services holding memory: ${holding}`);
  } finally {
    await t.close();
  }
});

test.run();
