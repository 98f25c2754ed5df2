import * as assert from "uvu/assert";
import { Worker } from "node:worker_threads";
import { extendedConstEnabled } from "../../host/wasm/index.ts";
import { openHost, test } from "../helpers.ts";

test("opening a host turns on extended-const, and it is on in a worker thread too", async () => {
  const t = await openHost({ workers: 1 });
  try {
    assert.ok(extendedConstEnabled(), "on in the host thread");
    // V8 flags are per process: a worker started now sees it as well.
    const seen = await new Promise((resolve, reject) => {
      const w = new Worker(
        `const probe = new Uint8Array([0,97,115,109,1,0,0,0,6,9,1,127,0,65,1,65,2,106,11]);
         require("node:worker_threads").parentPort.postMessage(WebAssembly.validate(probe));`,
        { eval: true },
      );
      w.once("message", (v) => {
        resolve(v);
        void w.terminate();
      });
      w.once("error", reject);
    });
    assert.is(seen, true);
  } finally {
    await t.close();
  }
});

test.run();
