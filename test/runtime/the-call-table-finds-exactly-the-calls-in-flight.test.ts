import * as assert from "uvu/assert";
import { CallTable } from "../../host/runtime/index.ts";
import { test } from "../helpers.ts";

// The pool keeps its calls in flight in this table (an open-addressed array, see call-table.ts):
// every lookup must find exactly what a Map would, through growth, shrinking, collisions and the
// backward shift that fills each hole a deletion leaves.

interface Call { id: number; tag: string }

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sameAsModel(table: CallTable<Call>, model: Map<number, Call>, probes: number[], where: string) {
  assert.is(table.size, model.size, `${where}: size`);
  for (const id of probes) assert.is(table.get(id), model.get(id), `${where}: get(${id})`);
  const listed = table.values().map((c) => c.id).sort((a, b) => a - b);
  assert.equal(listed, [...model.keys()].sort((a, b) => a - b), `${where}: values()`);
}

test("ids handed out in sequence, answered out of order, are all found until answered", () => {
  const next = random(7);
  const table = new CallTable<Call>();
  const model = new Map<number, Call>();
  let id = 1;
  for (let step = 0; step < 40_000; step++) {
    // Bursts of up to ~1,000 in flight, then drains: the table grows past the size it keeps and shrinks back.
    const phase = Math.floor(step / 5000) % 2 === 0;
    if (model.size === 0 || (phase ? next() < 0.6 : next() < 0.3)) {
      const c = { id: id++, tag: `c${id}` };
      table.add(c);
      model.set(c.id, c);
    } else {
      const keys = [...model.keys()];
      const victim = keys[Math.floor(next() * keys.length)]!;
      assert.ok(table.delete(victim), `delete(${victim}) found it`);
      model.delete(victim);
      assert.not.ok(table.delete(victim), `a second delete(${victim}) finds nothing`);
    }
    if (step % 97 === 0) sameAsModel(table, model, [id - 1, id, id + 1, 0, ...[...model.keys()].slice(0, 20)], `step ${step}`);
  }
  sameAsModel(table, model, [...model.keys()], "end");
});

test("ids that all land on the same slot, and runs that wrap past the table's end, are found", () => {
  const table = new CallTable<Call>();
  const model = new Map<number, Call>();
  // Multiples of 1024 share a home slot at every size the table takes here; 60..67 wrap around 64.
  const ids = [...Array.from({ length: 20 }, (_, i) => (i + 1) * 1024), 60, 61, 62, 63, 64, 65, 66, 67, 2 ** 40 + 3];
  for (const id of ids) {
    const c = { id, tag: String(id) };
    table.add(c);
    model.set(id, c);
  }
  sameAsModel(table, model, [...ids, 1024 * 21, 59, 68], "full");
  // Delete from the middle of each run first, so later entries must shift back over the hole.
  const order = [5 * 1024, 62, 1024, 2 ** 40 + 3, 66, 20 * 1024, 60, 63, 64];
  for (const id of order) {
    assert.ok(table.delete(id));
    model.delete(id);
    sameAsModel(table, model, ids, `after delete(${id})`);
  }
  for (const id of [...model.keys()]) {
    assert.ok(table.delete(id));
    model.delete(id);
  }
  sameAsModel(table, model, ids, "empty");
});

test("clear forgets every call, and the table then works as a new one", () => {
  const next = random(11);
  const table = new CallTable<Call>();
  for (let id = 1; id <= 300; id++) table.add({ id, tag: "" });
  table.clear();
  assert.is(table.size, 0);
  assert.is(table.get(5), undefined);
  assert.equal(table.values(), []);
  // After clear it is small again: a few thousand more calls make it grow past the size it keeps,
  // and answering most of them makes it shrink back.
  const model = new Map<number, Call>();
  for (let id = 1000; id < 4000; id++) {
    const c = { id, tag: "again" };
    table.add(c);
    model.set(id, c);
    if (next() < 0.4) {
      const keys = [...model.keys()];
      const victim = keys[Math.floor(next() * keys.length)]!;
      assert.ok(table.delete(victim));
      model.delete(victim);
    }
  }
  sameAsModel(table, model, [...model.keys(), 999, 4000], "grown after clear");
  for (const victim of [...model.keys()].slice(50)) {
    assert.ok(table.delete(victim));
    model.delete(victim);
  }
  sameAsModel(table, model, [...model.keys(), 999, 4000], "shrunk after clear");
});

test("values() lists the calls oldest first, across the table's end and after growing", () => {
  // A replaced worker gets its calls again in this order and runs a tenant's calls first in,
  // first out: newer calls listed first would run first.
  for (const first of [1, 40, 60, 63, 64, 120, 1000, 2 ** 31 - 10]) {
    const table = new CallTable<Call>();
    for (let id = first; id < first + 70; id++) table.add({ id, tag: "" });
    for (let id = first; id < first + 70; id += 3) table.delete(id);
    const ids = table.values().map((c) => c.id);
    assert.equal(ids, [...ids].sort((a, b) => a - b), `ids from ${first}`);
    assert.is(ids.length, table.size);
  }
});

test("adding an id the table holds already is refused", () => {
  const table = new CallTable<Call>();
  table.add({ id: 7, tag: "first" });
  assert.throws(() => table.add({ id: 7, tag: "second" }), /id 7 is in the table already/);
  assert.is(table.size, 1);
  assert.is(table.get(7)?.tag, "first");
});

test("a burst past 1,024 slots is given back once answered; the ebb and flow of a few hundred calls keeps its slots", () => {
  const table = new CallTable<Call>();
  let id = 1;
  for (; id <= 3000; id++) table.add({ id, tag: "" });
  assert.ok(table.capacity >= 6000, `3,000 calls in flight take room: ${table.capacity} slots`);
  for (let gone = 1; gone <= 2990; gone++) table.delete(gone);
  assert.is(table.capacity, 1024, "answered, the burst's room is given back down to 1,024 slots");
  // Flows of 300 calls, each answered down to 5: no growing or shrinking at each turn.
  for (let round = 0; round < 20; round++) {
    const first = id;
    for (let k = 0; k < 300; k++) table.add({ id: id++, tag: "" });
    for (let k = first; k < id - 5; k++) table.delete(k);
    assert.is(table.capacity, 1024, `round ${round}`);
  }
});

test.run();
