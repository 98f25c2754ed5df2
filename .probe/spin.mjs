import { Worker, isMainThread, workerData } from "node:worker_threads";
if (isMainThread) {
  const sab = new SharedArrayBuffer(16); const a = new Int32Array(sab);
  for (const mode of ["wait", "spinW", "spinBoth"]) {
    const w = new Worker(new URL(import.meta.url), { workerData: { sab, mode } });
    await new Promise((r) => w.once("online", r));
    let seq = 0; const lat = [];
    for (let i = 0; i < 20000; i++) {
      const t = performance.now();
      seq++; Atomics.store(a, 0, seq); Atomics.notify(a, 0);
      if (mode === "spinBoth") { const end = performance.now() + 0.05; while (Atomics.load(a, 1) !== seq && performance.now() < end); }
      while (Atomics.load(a, 1) !== seq) { const r = Atomics.waitAsync(a, 1, seq - 1); if (r.async) await r.value; }
      lat.push(performance.now() - t);
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    lat.sort((x, y) => x - y);
    console.log(mode, "p50 us", (lat[lat.length >> 1] * 1000).toFixed(1), "p99", (lat[Math.floor(lat.length * 0.99)] * 1000).toFixed(1));
    Atomics.store(a, 0, -1); Atomics.notify(a, 0); await new Promise((r) => w.once("exit", r)); Atomics.store(a, 0, 0); Atomics.store(a, 1, 0);
  }
} else {
  const { sab, mode } = workerData; const a = new Int32Array(sab); let seen = 0;
  for (;;) {
    if (mode !== "wait") { const end = performance.now() + 0.2; while (Atomics.load(a, 0) === seen && performance.now() < end); }
    Atomics.wait(a, 0, seen);
    const v = Atomics.load(a, 0); if (v === -1) break; seen = v;
    { const e = performance.now() + 0.008; while (performance.now() < e); } Atomics.store(a, 1, v); Atomics.notify(a, 1);
  }
}
