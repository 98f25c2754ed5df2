// Capability tokens: verify cost per call (a token seen for the first time: MACs and hashes; a
// cached one: lookups only), grants/s and revokes/s against a real store (each one synced with
// its event), and the heap a loaded grant costs.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { attenuate, Capabilities, type Authority } from "../host/capability/index.ts";
import { EventStore } from "../host/events/index.ts";
import { Storage } from "../host/storage/index.ts";
import { readFileSync } from "node:fs";
import { Host } from "../host/index.ts";
import { median, report, round } from "./common.ts";

/**
 * The same echo call (one in flight, AssemblyScript, real workers) through host.call (no check)
 * and through a session (verify + authorize first), in alternating blocks so that both see the
 * same machine; the ratio of their medians is what checking costs on the call path.
 */
async function callPathOverhead(): Promise<{ plainUs: number; checkedUs: number; ratio: number }> {
  const hostDir = mkdtempSync(join(tmpdir(), "solo-bench-cap-host-"));
  const host = await Host.open({ dataDir: hostDir, workers: 1 });
  try {
    const echo = readFileSync(new URL("../examples/echo.as.ts", import.meta.url), "utf8");
    await host.deploy({ tenant: "t0", service: "echo", source: echo, language: "assemblyscript" });
    const { token } = await host.grant({ tenant: "t0", permissions: ["call"], services: ["echo"], ttlMs: HOUR });
    const session = host.session(token);
    const plain: number[] = [];
    const checked: number[] = [];
    const block = async (viaSession: boolean, n: number, into?: number[]) => {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        if (viaSession) await session.call("t0", "echo", "hello");
        else await host.call("t0", "echo", "hello");
        into?.push((performance.now() - t0) * 1000);
      }
    };
    await block(false, 2000);
    await block(true, 2000);
    for (let round = 0; round < 20; round++) {
      await block(false, 500, plain);
      await block(true, 500, checked);
    }
    const plainUs = median(plain);
    const checkedUs = median(checked);
    return { plainUs, checkedUs, ratio: checkedUs / plainUs };
  } finally {
    await host.close();
    rmSync(hostDir, { recursive: true, force: true });
  }
}

const HOUR = 3600_000;
const dir = mkdtempSync(join(tmpdir(), "solo-bench-cap-"));
const keyFile = join(dir, "root.key");

async function open() {
  const storage = await Storage.open(join(dir, "db"));
  const events = await EventStore.open(storage);
  return { storage, events, caps: await Capabilities.open({ storage, events, keyFile }) };
}

/** ns per call of fn over n calls. */
function nsPer(n: number, fn: (i: number) => void): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  return Number(process.hrtime.bigint() - t) / n;
}

// Child mode: only the heap of N loaded grants (needs --expose-gc, so it runs in its own process).
if (process.argv[2] === "--heap") {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const storage = await Storage.open(join(process.argv[3]!, "db"));
  const events = await EventStore.open(storage);
  gc();
  const before = process.memoryUsage().heapUsed;
  const caps = await Capabilities.open({ storage, events, keyFile: join(process.argv[3]!, "root.key") });
  gc();
  const after = process.memoryUsage().heapUsed;
  const n = caps.list().length;
  process.stdout.write(JSON.stringify({ n, bytesPerGrant: Math.round((after - before) / n) }) + "\n");
  await storage.close();
  process.exit(0);
}

try {
  let { storage, caps } = await open();
  const GRANTS = Number(process.env.SOLO_BENCH_GRANTS ?? 10_000);

  // Grants: all in flight at once (group commit), then one awaited at a time.
  let t = performance.now();
  const granted = await Promise.all(Array.from({ length: GRANTS }, (_, i) => caps.grant({ tenant: `t${i % 100}`, permissions: ["call", "read", "grant"], ttlMs: HOUR, note: "bench" })));
  const grantsPerSec = GRANTS / ((performance.now() - t) / 1000);
  const ONE = 300;
  t = performance.now();
  for (let i = 0; i < ONE; i++) await caps.grant({ tenant: "solo", permissions: ["call"], ttlMs: HOUR });
  const grantsPerSecOneAtATime = ONE / ((performance.now() - t) / 1000);
  console.log(`grants: ${Math.round(grantsPerSec)}/s with ${GRANTS} in flight, ${Math.round(grantsPerSecOneAtATime)}/s one at a time (each durable with its event)`);

  // Verify, first sight: each token is verified once, so none is in the cache yet (it holds
  // 10,000 and is cleared when full).
  const fresh = granted.map((g) => g.token);
  const freshNs = nsPer(fresh.length, (i) => caps.verify(fresh[i]!));
  const narrowed = fresh.map((tok) => attenuate(attenuate(tok, { permissions: ["call", "read"] }), { services: ["api"], expiresAt: Date.now() + HOUR / 2 }));
  const freshNarrowNs = nsPer(narrowed.length, (i) => caps.verify(narrowed[i]!));
  // Cached: the same token again and again (expiry and revocation still checked each time).
  const hot = fresh[0]!;
  const hotNarrow = narrowed[0]!;
  const WARM = 300_000;
  nsPer(WARM / 10, () => caps.verify(hot));
  const warmNs = nsPer(WARM, () => caps.verify(hot));
  const warmNarrowNs = nsPer(WARM, () => caps.verify(hotNarrow));
  // A token three grants deep (each granted by the one above): the revocation walk is longer.
  let by: Authority = caps.verify(hot);
  let deep = hot;
  for (let d = 0; d < 3; d++) {
    deep = (await caps.grant({ tenant: by.tenant, permissions: ["call", "grant"], ttlMs: HOUR / 2 ** (d + 2) }, by)).token;
    by = caps.verify(deep);
  }
  const warmDeepNs = nsPer(WARM, () => caps.verify(deep));
  // A copy of the token text (a new string, as a request would carry): the map hashes it again.
  const copies = Array.from({ length: 1000 }, () => (" " + hot).slice(1));
  const warmCopyNs = nsPer(WARM, (i) => caps.verify(copies[i % 1000]!));
  console.log(`verify: first sight ${Math.round(freshNs)} ns (no caveat), ${Math.round(freshNarrowNs)} ns (3 caveats); cached ${Math.round(warmNs)} ns, ${Math.round(warmNarrowNs)} ns (3 caveats), ${Math.round(warmDeepNs)} ns (3 grants deep), ${Math.round(warmCopyNs)} ns (a new copy of the text)`);

  // Revokes: half all at once, then one awaited at a time.
  const REVOKE = Math.min(5000, GRANTS / 2);
  t = performance.now();
  await Promise.all(granted.slice(0, REVOKE).map((g) => caps.revoke(g.id)));
  const revokesPerSec = REVOKE / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < ONE; i++) await caps.revoke(granted[REVOKE + i]!.id);
  const revokesPerSecOneAtATime = ONE / ((performance.now() - t) / 1000);
  console.log(`revokes: ${Math.round(revokesPerSec)}/s with ${REVOKE} in flight (each scans ${GRANTS} grants for descendants), ${Math.round(revokesPerSecOneAtATime)}/s one at a time`);

  await storage.close();
  t = performance.now();
  ({ storage, caps } = await open());
  const openMs = performance.now() - t;
  await storage.close();
  const child = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, fileURLToPath(import.meta.url), "--heap", dir], { encoding: "utf8" });
  const heap = JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}") as { n?: number; bytesPerGrant?: number };
  console.log(`open with ${heap.n} grants: ${Math.round(openMs)} ms (storage thread included); ~${heap.bytesPerGrant} bytes of heap per loaded grant`);

  const path = await callPathOverhead();
  console.log(`echo call, one in flight: ${path.plainUs.toFixed(1)} us without a check, ${path.checkedUs.toFixed(1)} us through a session (ratio ${path.ratio.toFixed(3)}; goal <= 1.05)`);

  report({
    bench: "capability",
    callPath: { plainP50Us: round(path.plainUs, 1), sessionP50Us: round(path.checkedUs, 1), ratio: round(path.ratio, 3), goal: 1.05 },
    grants: GRANTS,
    grantsPerSec: Math.round(grantsPerSec),
    grantsPerSecOneAtATime: Math.round(grantsPerSecOneAtATime),
    revokesPerSec: Math.round(revokesPerSec),
    revokesPerSecOneAtATime: Math.round(revokesPerSecOneAtATime),
    verifyFreshNs: Math.round(freshNs),
    verifyFresh3CaveatsNs: Math.round(freshNarrowNs),
    verifyWarmNs: round(warmNs, 1),
    verifyWarm3CaveatsNs: round(warmNarrowNs, 1),
    verifyWarm3DeepNs: round(warmDeepNs, 1),
    verifyWarmCopyNs: round(warmCopyNs, 1),
    openMs: Math.round(openMs),
    heapBytesPerGrant: heap.bytesPerGrant,
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
