// A child process for the crash test: appends events and commits kv as fast as it can, and
// prints a line for every write once it is acknowledged (durable). It is killed with SIGKILL.
// With a third argument N, it also compacts the log to about N events, over and over.
//   E <id>                  an acknowledged event
//   K <scope> <key> <value> an acknowledged kv commit
import { EventStore } from "../../host/events/index.ts";
import { RocksKvStore, Storage } from "../../host/storage/index.ts";

const dir = process.argv[2]!;
const run = process.argv[3]!;
const keepEvents = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const storage = await Storage.open(dir);
const store = await EventStore.open(storage);
const kv = new RocksKvStore(storage);
process.stdout.write("READY\n");
let n = 0;
async function lane(lane: number) {
  for (;;) {
    const i = n++;
    if (i % 4 === 0) {
      const key = `${run}-${i}`;
      await kv.commit(`t/s${lane}`, [[key, `v${i}`]]);
      process.stdout.write(`K t/s${lane} ${key} v${i}\n`);
    } else {
      const e = await store.append({ type: "guest_event", tenant: `t${lane % 3}`, service: "svc", data: { run, i } });
      process.stdout.write(`E ${e.id}\n`);
    }
  }
}
async function retention(maxEvents: number) {
  for (;;) {
    await store.compact({ maxEvents });
    await new Promise((r) => setTimeout(r, 5));
  }
}
await Promise.all([...Array.from({ length: 64 }, (_, l) => lane(l)), ...(keepEvents === undefined ? [] : [retention(keepEvents)])]);
