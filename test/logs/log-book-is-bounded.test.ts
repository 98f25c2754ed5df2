// The host's memory of guest log lines stays bounded whatever guests log and however slowly
// readers read: a ring per service (lines and characters), long messages cut, and a slow live
// reader losing its oldest lines with one `dropped` line saying how many.
import * as assert from "uvu/assert";
import { LogBook, MAX_MESSAGE_BYTES, QUEUE_LINES, RING_BYTES, RING_LINES, type LogLine } from "../../host/logs/index.ts";
import { test } from "../helpers.ts";

async function all(feed: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of feed) out.push(l);
  return out;
}

test("a service keeps its last RING_LINES lines; tail picks the last N, tail 0 none", async () => {
  const book = new LogBook();
  for (let i = 0; i < RING_LINES + 50; i++) book.add("acme", "a", "info", `line ${i}`);
  const kept = await all(book.open("acme", "a"));
  assert.is(kept.length, RING_LINES);
  assert.is(kept[0]!.message, "line 50");
  assert.is(kept.at(-1)!.message, `line ${RING_LINES + 49}`);
  assert.equal((await all(book.open("acme", "a", { tail: 2 }))).map((l) => l.message), [`line ${RING_LINES + 48}`, `line ${RING_LINES + 49}`]);
  assert.equal(await all(book.open("acme", "a", { tail: 0 })), []);
  assert.equal(await all(book.open("other", "a")), [], "another tenant's lines are not there");
});

test("a ring holds at most RING_BYTES characters and a long message is cut", async () => {
  const book = new LogBook();
  for (let i = 0; i < 20; i++) book.add("acme", "a", "warn", String(i % 10).repeat(MAX_MESSAGE_BYTES * 2));
  const kept = await all(book.open("acme", "a"));
  assert.ok(kept.every((l) => l.message.length === MAX_MESSAGE_BYTES + 1 && l.message.endsWith("…")), "each cut to MAX_MESSAGE_BYTES and an ellipsis");
  assert.ok(kept.length * (MAX_MESSAGE_BYTES + 1) <= RING_BYTES, `${kept.length} lines kept`);
  assert.is(kept.length, Math.floor(RING_BYTES / (MAX_MESSAGE_BYTES + 1)));
});

test("without a service: every service's lines in the order logged, or only the services given", async () => {
  const book = new LogBook();
  book.add("acme", "a", "info", "1");
  book.add("acme", "b", "info", "2");
  book.add("acme", "a", "error", "3");
  assert.equal((await all(book.open("acme", undefined))).map((l) => `${l.service}:${l.level}:${l.message}`), ["a:info:1", "b:info:2", "a:error:3"]);
  assert.equal((await all(book.open("acme", undefined, { services: new Set(["b"]) }))).map((l) => l.message), ["2"]);
});

test("follow: kept lines, then new ones; close ends it and forgets the reader", async () => {
  const book = new LogBook();
  book.add("acme", "a", "info", "before");
  const feed = book.open("acme", "a", { follow: true });
  const it = feed[Symbol.asyncIterator]();
  assert.is((await it.next()).value.message, "before");
  const next = it.next();
  book.add("acme", "b", "info", "another service");
  book.add("acme", "a", "debug", "after");
  const l = (await next).value as LogLine;
  assert.equal({ tenant: l.tenant, service: l.service, level: l.level, message: l.message }, { tenant: "acme", service: "a", level: "debug", message: "after" });
  assert.match(l.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.is(book.readerCount(), 1);
  feed.close();
  assert.is((await it.next()).done, true);
  assert.is(book.readerCount(), 0);
});

test("a reader that falls QUEUE_LINES behind loses the oldest lines and is told how many", async () => {
  const book = new LogBook();
  const feed = book.open("acme", "a", { follow: true, tail: 0 });
  for (let i = 0; i < QUEUE_LINES + 300; i++) book.add("acme", "a", "info", `n${i}`);
  const it = feed[Symbol.asyncIterator]();
  const first = (await it.next()).value as LogLine;
  assert.is(first.dropped, 300);
  assert.is(first.level, "warn");
  assert.match(first.message, /^300 log lines dropped/);
  const rest: string[] = [];
  for (let i = 0; i < QUEUE_LINES; i++) rest.push(((await it.next()).value as LogLine).message);
  assert.is(rest[0], "n300");
  assert.is(rest.at(-1), `n${QUEUE_LINES + 299}`);
  feed.close();
});

test("a bad tail is INVALID_ARGUMENT", () => {
  const book = new LogBook();
  assert.throws(() => book.open("acme", "a", { tail: -1 }), (e: Error & { code?: string }) => e.code === "INVALID_ARGUMENT");
  assert.throws(() => book.open("acme", "a", { tail: 1.5 }), (e: Error & { code?: string }) => e.code === "INVALID_ARGUMENT");
});

test.run();
