export { LogBook, RING_LINES, RING_BYTES, MAX_MESSAGE_BYTES, QUEUE_LINES, type LogLine, type LogsOptions, type LogFeed } from "./log-book.ts";
