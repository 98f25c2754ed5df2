// Admission at a worker's limit weighs a tenant's calls in flight against the sum over every
// tenant there. That sum is now kept as calls come and go instead of walked per check; this
// replays a long random mix of calls from 300 tenants (a few sending ten times more, run times
// from 0.01 to 30 ms) on a worker held at its limit, and checks every decision against the sum
// walked in full, as admission computed it before. No host: the Admission itself, on a clock the
// test moves.
import * as assert from "uvu/assert";
import { Admission, type AdmissionLane } from "../../host/governance/index.ts";
import { SoloError } from "../../host/index.ts";
import { test } from "../helpers.ts";

/** mulberry32: the same sequence every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The decision as the walk over every tenant made it: refused when at the limit, with the calls
 * in flight holding at least the target's worth of run time (or 64 calls past the limit), and
 * holding at least an equal share.
 */
function refusedByFullSum(lane: AdmissionLane, tenant: string, targetMs: number): boolean {
  const mine = lane.tenants.get(tenant);
  if (lane.inflight < lane.limit || mine === undefined || mine.inflight === 0) return false;
  let total = 0;
  let active = 0;
  for (const t of lane.tenants.values()) {
    if (t.inflight > 0) {
      total += t.inflight * Math.max(0.01, t.runMs);
      active++;
    }
  }
  return (total >= targetMs || lane.inflight >= lane.limit + 64) && (mine.inflight * Math.max(0.01, mine.runMs)) / total >= 1 / active;
}

test("with 300 tenants at a worker's limit, every admit decides as the sum over all tenants did", () => {
  let clock = 0;
  const admission = new Admission({}, () => {}, undefined, () => clock);
  const rnd = random(7);
  const TENANTS = 300;
  const names = Array.from({ length: TENANTS }, (_, i) => `t${i}`);
  // Each tenant's usual run time (ms), 0.01 to 30 on a log scale; the first ten send 10x more.
  const usual = names.map(() => 0.01 * 3000 ** rnd());
  const pick = () => {
    const r = rnd() * (TENANTS + 90);
    return r < 100 ? Math.floor(r / 10) : Math.floor(r - 90);
  };
  const inflight: { lane: AdmissionLane; tenant: number }[] = [];
  const answer = (k: number, waitMs: number) => {
    const [call] = inflight.splice(k, 1);
    admission.done(call!.lane, names[call!.tenant]!, waitMs, clock, usual[call!.tenant]! * (0.5 + rnd()));
  };

  // A standing queue: every tenant's call waited 50 ms (target 5) in the first interval, so the
  // worker's limit comes down from none to 300 * 5 / 50 = 30.
  for (let i = 0; i < TENANTS; i++) {
    const lane = admission.admit(0, names[i]!, "s");
    assert.not.instance(lane, SoloError);
    inflight.push({ lane: lane as AdmissionLane, tenant: i });
  }
  clock = 150;
  const lane = inflight[0]!.lane;
  while (inflight.length > 0) answer(0, 50);
  assert.is(lane.limit, 30);

  // From here the clock stays inside one interval, so the limit holds while calls come and go.
  let refused = 0;
  let admittedAtLimit = 0;
  for (let step = 0; step < 20_000; step++) {
    if (inflight.length > 0 && rnd() < 0.45) {
      answer(Math.floor(rnd() * inflight.length), 50);
      continue;
    }
    const t = pick();
    const atLimit = lane.inflight >= lane.limit && (lane.tenants.get(names[t]!)?.inflight ?? 0) > 0;
    const expected = refusedByFullSum(lane, names[t]!, admission.settings.targetMs);
    const got = admission.admit(0, names[t]!, "s");
    assert.is(got instanceof SoloError, expected, `step ${step}: tenant ${names[t]} with ${lane.tenants.get(names[t]!)?.inflight} calls in flight, ${lane.inflight} on the worker`);
    if (got instanceof SoloError) {
      refused++;
      assert.is(got.code, "UNAVAILABLE");
      assert.is(got.details?.reason, "overloaded");
    } else {
      if (atLimit) admittedAtLimit++;
      inflight.push({ lane: got, tenant: t });
    }
  }
  // Both sides of the check were exercised many times.
  assert.ok(refused > 1000, `refused ${refused}`);
  assert.ok(admittedAtLimit > 1000, `admitted at the limit ${admittedAtLimit}`);
  assert.is(lane.limit, 30);

  // Every call answered: the worker holds nothing, and the next call of anyone is let in.
  while (inflight.length > 0) answer(0, 50);
  assert.is(lane.inflight, 0);
  assert.not.instance(admission.admit(0, names[0]!, "s"), SoloError);
  admission.close();
});

test.run();
