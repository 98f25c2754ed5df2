// What keeping guest log lines costs per line: LogBook.add with no reader (the usual case), with
// one live reader of the service, and with one reader of another tenant. Prints ns per line and
// the heap held by 1,000 services' full rings.
// node --expose-gc --import ./bin/ts-register.mjs bench/log-book.ts
import { LogBook, RING_LINES } from "../host/logs/index.ts";

const N = 1_000_000;
const message = "handled request 42 in 3 ms";

function perLine(label: string, book: LogBook, tenant: string): void {
  for (let i = 0; i < 10_000; i++) book.add(tenant, "svc", "info", message); // warm up
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) book.add(tenant, "svc", "info", message);
  const ns = Number(process.hrtime.bigint() - t) / N;
  console.log(`${label.padEnd(34)} ${ns.toFixed(0)} ns/line`);
}

perLine("no reader", new LogBook(), "acme");
{
  const book = new LogBook();
  const feed = book.open("other", "svc", { follow: true, tail: 0 });
  perLine("a reader of another tenant", book, "acme");
  feed.close();
}
{
  const book = new LogBook();
  const feed = book.open("acme", "svc", { follow: true, tail: 0 });
  // Never read: its queue stays at QUEUE_LINES, dropping the oldest (the slow-reader case).
  perLine("a reader that never reads", book, "acme");
  feed.close();
}

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage().heapUsed;
const book = new LogBook();
for (let s = 0; s < 1_000; s++) for (let i = 0; i < RING_LINES; i++) book.add("acme", `svc${s}`, "info", `${message} ${i}`);
gc?.();
const held = process.memoryUsage().heapUsed - before;
console.log(`1000 services x ${RING_LINES} lines kept (${book.readerCount()} readers): ${(held / 1e6).toFixed(1)} MB of heap${gc ? "" : " (run with --expose-gc for a steadier figure)"}`);
