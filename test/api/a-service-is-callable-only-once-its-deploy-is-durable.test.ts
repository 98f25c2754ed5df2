import * as assert from "uvu/assert";
import { example, openHost, test } from "../helpers.ts";

test("a deployed service is listed and callable only once its record and service_deployed event are durable", async () => {
  const t = await openHost();
  try {
    const before = t.host.eventStore.lastId();
    let seenEarly = false;
    let seen = false;
    let deployed = false;
    // Looks at every turn of the event loop while the deploy runs: the first moment the service
    // is listed, its event must already be durable (lastId moves only once the batch is synced).
    const watch = new Promise<void>((resolve) => {
      const look = () => {
        if (!seen && t.host.list("a").length > 0) {
          seen = true;
          if (t.host.eventStore.lastId() === before) seenEarly = true;
        }
        if (deployed) resolve();
        else setImmediate(look);
      };
      look();
    });
    await t.host.deploy({ tenant: "a", service: "echo", source: example("echo.as.ts"), language: "assemblyscript" });
    deployed = true;
    await watch;
    assert.ok(seen, "listed once deployed");
    assert.not.ok(seenEarly, "listed before its event was durable");
    const [event] = await t.host.eventStore.list({ tenant: "a", after: before ?? undefined });
    assert.is(event?.type, "service_deployed");
  } finally {
    await t.close();
  }
});

test.run();
