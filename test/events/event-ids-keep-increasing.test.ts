// Event ids are ULIDs that only grow (host/events/ids.ts): within a millisecond, when the clock
// steps back, past the last random value, and from any seed a restart reads back.
import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { IdGenerator } from "../../host/events/index.ts";

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

test("100,000 ids, many in one millisecond and the clock stepping back, are 26 base32 characters and strictly increasing", () => {
  const ids = new IdGenerator(null);
  const t = Date.now();
  let prev = "";
  for (let i = 0; i < 100_000; i++) {
    const id = ids.next(t + (i % 7 === 0 ? -5 : Math.floor(i / 1000)));
    assert.ok(ULID.test(id), id);
    if (!(id > prev)) assert.unreachable(`${id} after ${prev}`);
    prev = id;
  }
});

test("after the last random value of a millisecond the next id moves to the next millisecond", () => {
  const last = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
  const ids = new IdGenerator(last);
  const a = ids.next(0);
  assert.ok(a > last && ULID.test(a), a);
  assert.is(a.slice(0, 10), "01J0000000");
  assert.ok(ids.next(0) > a);
});

test("a restart continues above its seed: one in lower case, or one that is not a valid id, is never incremented into a smaller one", () => {
  for (const seed of ["01hzzzzzzzzzzzzzzzzzzzzzzq", "01HZZZZZZZZZZZZZZZZZZZZZZU", "01HZZZZZZZZZZZZZZZZZZZZZZY"]) {
    const ids = new IdGenerator(seed);
    const id = ids.next(0); // the clock behind the seed
    assert.ok(id > seed.toUpperCase() && ULID.test(id), `${seed} -> ${id}`);
  }
});

test.run();
