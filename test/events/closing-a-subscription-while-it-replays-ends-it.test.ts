// A subscription closed while it reads a page of stored events (replay) must end: the next()
// that was reading resolves as done, and so does every later one. (It used to park a waiter on
// the closed subscription forever, leaving a stream handler hanging.)
import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";
import { SoloError } from "../../host/index.ts";

test("close() during replay: the pending next() and later ones resolve as done; abort() ends it with the error", async () => {
  const t = await openHost({ workers: 1 });
  try {
    for (let i = 0; i < 30; i++) await t.host.setQuotas("acme", { services: 10 + i });
    const sub = t.host.eventStore.subscribe({}, { after: "" });
    const pending = sub.next(); // starts reading the first page
    sub.close();
    const first = await Promise.race([pending, new Promise<"hung">((r) => setTimeout(() => r("hung"), 10_000))]);
    assert.equal(first, { done: true, value: undefined });
    assert.equal(await sub.next(), { done: true, value: undefined });

    const other = t.host.eventStore.subscribe({}, { after: "" });
    const reading = other.next();
    other.abort(new SoloError("UNAUTHENTICATED", "the reader's token was revoked"));
    let code: string | undefined;
    try {
      const r = await reading;
      if (!r.done) await other.next(); // read before the abort: the next one fails
    } catch (err) {
      code = (err as SoloError).code;
    }
    if (code === undefined) {
      try {
        await other.next();
      } catch (err) {
        code = (err as SoloError).code;
      }
    }
    assert.is(code, "UNAUTHENTICATED");
  } finally {
    await t.close();
  }
});

test.run();
