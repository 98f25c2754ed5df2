// Soak: deploys, kills, calls that write kv and event compaction, all at once, with storage faults
// injected at random, for SOAK_SECONDS (default 600; 60 in quick mode). At the end the host is closed and opened
// again on the same directory, and every promise is checked: every acknowledged kv write is
// there, no write of a failed call is, every service is where the last acknowledged deploy/kill
// left it, and the event chain verifies. Prints its counts; exits 1 on any broken promise.
// (Hot swaps join when they exist.)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host, SoloError } from "../host/index.ts";
import { scaled } from "./common.ts";

const SECONDS = Number(process.env.SOAK_SECONDS ?? scaled(600, 60));
const SEED = Number(process.env.SOAK_SEED ?? 20261130);

// Writes the key it is sent; "has <key>" answers yes or no.
const GUEST = `import { kv, fail } from "solo";
export function handle(request: string): string {
  if (request.startsWith("has ")) return kv.get(request.substring(4)) === null ? "no" : "yes";
  if (!kv.set(request, "1")) return fail("set failed");
  return "ok";
}
`;

/** mulberry32: a small seeded PRNG, so a run can be repeated. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Slot {
  tenant: string;
  service: string;
  /** What the last acknowledged deploy or kill says: running or not. */
  alive: boolean;
  /** Set when a deploy or kill failed: its outcome is read back from the host. */
  unsure: boolean;
  acked: Set<string>;
  failed: Set<string>;
}

const counts = {
  seconds: SECONDS, deploys: 0, deployFailures: 0, kills: 0, killFailures: 0, calls: 0, acked: 0, unacked: 0,
  compactions: 0, compactionFailures: 0, faultPlans: 0, restarts: 0,
  missingAcked: 0, presentUnacked: 0, wrongState: 0, chainOk: false, checkedKeys: 0,
};

const random = prng(SEED);
const dataDir = mkdtempSync(join(tmpdir(), "solo-soak-"));
const cacheDir = join(tmpdir(), "solo-soak-artifacts");
let host = await Host.open({ dataDir, cacheDir, workers: 2 });
const slots: Slot[] = [];
for (const tenant of ["t1", "t2", "t3"]) {
  for (const service of ["a", "b"]) slots.push({ tenant, service, alive: false, unsure: false, acked: new Set(), failed: new Set() });
}
let keyCounter = 0;

/** After a failed deploy or kill, the host says which way it went. */
function settle(slot: Slot) {
  if (!slot.unsure) return;
  slot.unsure = false;
  let exists = true;
  try {
    host.status(slot.tenant, slot.service);
  } catch (err) {
    if (!(err instanceof SoloError) || err.code !== "NOT_FOUND") throw err;
    exists = false;
  }
  if (exists === slot.alive) return; // the failed operation left things as they were
  // A deploy that answered an error must leave nothing behind; a kill that answered an error
  // but happened anyway is counted too (the caller was told it did not).
  counts.wrongState++;
  slot.alive = exists;
  slot.acked.clear();
  slot.failed.clear();
}

async function step(slot: Slot) {
  settle(slot);
  const r = random();
  if (!slot.alive && r < 0.5) {
    try {
      await host.deploy({ tenant: slot.tenant, service: slot.service, source: GUEST, language: "assemblyscript" });
      counts.deploys++;
      slot.alive = true;
      slot.acked.clear();
      slot.failed.clear();
    } catch {
      counts.deployFailures++;
      slot.unsure = true;
    }
  } else if (slot.alive && r < 0.04) {
    try {
      await host.kill(slot.tenant, slot.service);
      counts.kills++;
      slot.alive = false;
      slot.acked.clear();
      slot.failed.clear();
    } catch {
      counts.killFailures++;
      slot.unsure = true;
    }
  } else if (slot.alive) {
    const keys = Array.from({ length: 20 }, () => `k${keyCounter++}`);
    await Promise.all(keys.map(async (k) => {
      counts.calls++;
      try {
        const out = await host.call(slot.tenant, slot.service, k);
        if (out.output !== "ok") throw new Error(`unexpected answer ${out.output}`);
        counts.acked++;
        slot.acked.add(k);
      } catch (err) {
        if (!(err instanceof SoloError)) throw err;
        counts.unacked++;
        slot.failed.add(k);
      }
    }));
  }
}

const started = Date.now();
let lastFaults = 0;
let lastCompaction = 0;
while (Date.now() - started < SECONDS * 1000) {
  const now = Date.now();
  if (now - lastFaults > 3000) {
    lastFaults = now;
    const plan = random() < 0.5 ? { rate: 0.02 + random() * 0.1, seed: Math.floor(random() * 1e9) } : null;
    await host.injectStorageFaults(plan);
    if (plan) counts.faultPlans++;
  }
  const compaction = now - lastCompaction > 2000 ? host.compactEvents({ maxEvents: 2000 }).then(() => void counts.compactions++, () => void counts.compactionFailures++) : undefined;
  if (compaction) lastCompaction = now;
  await Promise.all(slots.map((s) => step(s)));
  await compaction;
  // Now and then the whole host restarts: what was acknowledged must come back.
  if (random() < 0.005) {
    await host.injectStorageFaults(null);
    await host.close();
    host = await Host.open({ dataDir, cacheDir, workers: 2 });
    counts.restarts++;
    await check();
  }
}

// The check, on a host opened again from disk.
await host.injectStorageFaults(null);
await host.close();
host = await Host.open({ dataDir, cacheDir, workers: 2 });
await check();
counts.chainOk = (await host.verifyEvents()).ok;
await host.close();
rmSync(dataDir, { recursive: true, force: true });
const broken = counts.missingAcked + counts.presentUnacked + counts.wrongState + (counts.chainOk ? 0 : 1);
process.stdout.write(`${JSON.stringify({ bench: "soak", ...counts, broken })}\n`);
process.exitCode = broken ? 1 : 0;

/** Every slot where its acknowledged operations left it, with exactly its acknowledged writes. */
async function check() {
  for (const slot of slots) {
    settle(slot);
    let status: string | undefined;
    try {
      status = host.status(slot.tenant, slot.service).state;
    } catch (err) {
      if (!(err instanceof SoloError) || err.code !== "NOT_FOUND") throw err;
    }
    if ((status === "running") !== slot.alive) {
      counts.wrongState++;
      slot.alive = status === "running";
      slot.acked.clear();
      slot.failed.clear();
      continue;
    }
    if (!slot.alive) continue;
    for (const k of slot.acked) {
      counts.checkedKeys++;
      if ((await host.call(slot.tenant, slot.service, `has ${k}`)).output !== "yes") counts.missingAcked++;
    }
    for (const k of slot.failed) {
      counts.checkedKeys++;
      if ((await host.call(slot.tenant, slot.service, `has ${k}`)).output !== "no") counts.presentUnacked++;
    }
  }
}
