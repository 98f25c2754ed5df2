// The helper thread of bench/round-trip.ts: answers each crossing at once, nothing else. A file of
// its own so the thread loads nothing but this.
import { parentPort, workerData } from "node:worker_threads";

export type Mode = { mode: "message" } | { mode: "atomics"; cells: SharedArrayBuffer };

const w = workerData as Mode | undefined;
if (w?.mode === "message") parentPort!.on("message", (m: unknown) => parentPort!.postMessage(m));
else if (w?.mode === "atomics") {
  const cells = new Int32Array(w.cells);
  let seen = 0;
  for (;;) {
    Atomics.wait(cells, 0, seen);
    seen = Atomics.load(cells, 0);
    if (seen < 0) break;
    Atomics.store(cells, 1, seen);
    Atomics.notify(cells, 1);
  }
}
