// Admission sets a worker's limit from a standing queue; the tenant that made it can leave (moved
// to an isolated worker) or the machine can stall every thread for a while. A light tenant then
// alone at that worker, whose calls in flight hold less than the target's worth of run time, is
// not refused: its calls wait for reasons no limit on it would shorten. One whose calls in flight
// do hold that much is still shed. No host: the Admission itself, on a clock the test moves.
import * as assert from "uvu/assert";
import { Admission, type AdmissionLane } from "../../host/governance/index.ts";
import { SoloError } from "../../host/index.ts";
import { test } from "../helpers.ts";

/** A worker held at limit 2: calls of `heavy` (100 ms each) waited 400 ms in one interval. */
function limitedBy(admission: Admission, heavy: string, clock: { now: number }): AdmissionLane {
  const lanes: AdmissionLane[] = [];
  for (let i = 0; i < 40; i++) lanes.push(admission.admit(0, heavy, "loop") as AdmissionLane);
  clock.now = 150;
  for (const lane of lanes) admission.done(lane, heavy, 400, clock.now, 100);
  assert.is(lanes[0]!.limit, 2, "the standing queue set a limit");
  return lanes[0]!;
}

/** `tenant` has run `n` calls of `runMs` one at a time: admission knows how long its calls run. */
function known(admission: Admission, tenant: string, runMs: number, clock: { now: number }, n = 60) {
  for (let i = 0; i < n; i++) admission.done(admission.admit(0, tenant, "s") as AdmissionLane, tenant, 0.1, clock.now, runMs);
}

test("a light tenant alone at a worker's limit is admitted while its calls in flight hold less than the target's worth", () => {
  const clock = { now: 0 };
  const admission = new Admission({}, () => {}, undefined, () => clock.now);
  const lane = limitedBy(admission, "a", clock);
  known(admission, "b", 0.03, clock);
  // B's echo calls (0.03 ms each) pile up while the machine stalls: 30 in flight are ~1 ms of work.
  const held: AdmissionLane[] = [];
  for (let i = 0; i < 30; i++) {
    const got = admission.admit(0, "b", "echo");
    assert.not.instance(got, SoloError, `B's call ${i} at ${lane.inflight} in flight, limit ${lane.limit}`);
    held.push(got as AdmissionLane);
  }
  for (const l of held.splice(0, 1)) admission.done(l, "b", 0.1, clock.now, 0.03);
  assert.not.instance(admission.admit(0, "b", "echo"), SoloError);
  admission.close();
});

test("a tenant alone at the limit whose calls in flight hold the target's worth of run time is still shed", () => {
  const clock = { now: 0 };
  const admission = new Admission({}, () => {}, undefined, () => clock.now);
  const lane = limitedBy(admission, "a", clock);
  // C's calls run 2 ms: three in flight are 6 ms of work, past the 5 ms target.
  known(admission, "c", 2, clock);
  const outcomes: boolean[] = [];
  for (let i = 0; i < 6; i++) outcomes.push(admission.admit(0, "c", "spin") instanceof SoloError);
  assert.equal(outcomes, [false, false, false, true, true, true], `limit ${lane.limit}: admitted while under 5 ms of work in flight (with the one about to be let in), then refused`);
  const e = admission.admit(0, "c", "spin") as SoloError;
  assert.is(e.code, "UNAVAILABLE");
  assert.is(e.details?.reason, "overloaded");
  admission.close();
});

test("a burst of a tenant whose calls were short so far is let in at most 64 calls past the limit", () => {
  const clock = { now: 0 };
  const admission = new Admission({}, () => {}, undefined, () => clock.now);
  const lane = limitedBy(admission, "a", clock);
  known(admission, "d", 0.01, clock); // 100 calls in flight would be 1 ms by its average
  let admitted = 0;
  for (let i = 0; i < 100; i++) if (!(admission.admit(0, "d", "s") instanceof SoloError)) admitted++;
  assert.is(admitted, lane.limit + 64, `limit ${lane.limit}: the rest refused, whatever its average says`);
  admission.close();
});

test.run();
