import { mkdtempSync } from "node:fs"; import { tmpdir } from "node:os"; import { join } from "node:path";
import { EventStore } from "../host/events/index.ts"; import { Storage } from "../host/storage/index.ts";
const storage = await Storage.open(join(mkdtempSync(join(tmpdir(), "p-")), "db"));
const store = await EventStore.open(storage);
const data = { request: "x".repeat(120), fuel: 12345, memoryBytes: 65536, note: "a typical payload of a few hundred bytes" };
const N = 20000;
for (let round = 0; round < 3; round++) {
  (globalThis as any).gc(); const before = process.memoryUsage().heapUsed;
  const ps: Promise<unknown>[] = [];
  let ok = 0;
  for (let k = 0; k < N; k++) store.append({ type: "guest_event", tenant: `t${k % 50}`, service: `s${k % 7}`, data }).then(() => ok++, () => {});
  (globalThis as any).gc(); const after = process.memoryUsage().heapUsed;
  console.log("retained per pending append", ((after - before) / N).toFixed(0), "bytes");
  while (ok < N) await new Promise((r) => setTimeout(r, 10));
}
await storage.close();
