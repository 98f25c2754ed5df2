// The floor under a call through the Host API: how long a bare round trip between two threads of
// this process takes, with nothing on either side but the crossing. bench/calls.ts prints it
// beside the echo call, so what Solo adds to a call can be told from what the machine costs.
//
// Two crossings are timed (median of `n` one-at-a-time round trips each):
// - postMessage both ways (what calls and results use today);
// - a shared Int32Array with Atomics: the helper thread blocks in Atomics.wait, this thread waits
//   with Atomics.waitAsync, so neither spins (the shape of a ring channel, without a ring).
// The helper thread runs round-trip-echo.ts, which answers the crossing workerData names.
import { Worker } from "node:worker_threads";
import { median } from "./common.ts";
import type { Mode } from "./round-trip-echo.ts";

const ECHO = new URL("./round-trip-echo.ts", import.meta.url);

// Node 20 has Atomics.waitAsync; the ES2022 lib this project compiles against does not declare it.
type WaitAsync = (a: Int32Array, index: number, value: number) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Median µs of a postMessage round trip (a small object each way), after a warm-up. */
async function messageRoundTrip(n: number): Promise<number> {
  const w = new Worker(ECHO, { workerData: { mode: "message" } satisfies Mode });
  try {
    const times: number[] = [];
    const msg = { t: "calls", calls: [[1, "t0/echo", "hello", 5000]] };
    for (let i = 0; i < n + 500; i++) {
      const t = performance.now();
      await new Promise((r) => {
        w.once("message", r);
        w.postMessage(msg);
      });
      if (i >= 500) times.push((performance.now() - t) * 1000);
    }
    return median(times);
  } finally {
    await w.terminate();
  }
}

/** Median µs of an Atomics round trip (notify, the other side's reply through waitAsync), after a warm-up. */
async function atomicsRoundTrip(n: number): Promise<number> {
  const cells = new SharedArrayBuffer(8);
  const a = new Int32Array(cells);
  const w = new Worker(ECHO, { workerData: { mode: "atomics", cells } satisfies Mode });
  try {
    await new Promise((r) => w.once("online", r));
    const times: number[] = [];
    for (let i = 1; i <= n + 500; i++) {
      const t = performance.now();
      const reply = waitAsync(a, 1, i - 1);
      Atomics.store(a, 0, i);
      Atomics.notify(a, 0);
      if (reply.async) await reply.value;
      if (i > 500) times.push((performance.now() - t) * 1000);
    }
    Atomics.store(a, 0, -1);
    Atomics.notify(a, 0);
    return median(times);
  } finally {
    await w.terminate();
  }
}

/** The two floors, µs, median of n round trips each. */
export async function roundTrips(n: number): Promise<{ messageUs: number; atomicsUs: number }> {
  return { messageUs: await messageRoundTrip(n), atomicsUs: await atomicsRoundTrip(n) };
}
