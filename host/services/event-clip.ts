// Bounds what an event holds. An event's data carries messages a guest controls (a trap's
// message is its last error log line, any length) and lists that grow with the input (a
// failed validation's findings); written as they are, one call could make a megabyte event.
// The caller's own error stays complete; only the recorded copy is clipped.

/** Characters kept of each string in an event: a message an agent can read in full. */
export const MAX_EVENT_STRING = 1024;
/** Items kept of each list in an event (findings, diagnostics): the first ones say what to fix. */
export const MAX_EVENT_ITEMS = 20;

/** A string of at most MAX_EVENT_STRING characters, plus a marker saying how long it was. */
export function clipString(s: string): string {
  if (s.length <= MAX_EVENT_STRING) return s;
  let end = MAX_EVENT_STRING;
  // Never end on half of a surrogate pair.
  const last = s.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${s.slice(0, end)}... (clipped, ${s.length} chars)`;
}

/** A copy of `value` with every string clipped and every list cut to MAX_EVENT_ITEMS (plus a marker). */
export function clipEventData<T>(value: T): T {
  return clip(value) as T;
}

function clip(value: unknown): unknown {
  if (typeof value === "string") return clipString(value);
  if (Array.isArray(value)) {
    const kept = value.slice(0, MAX_EVENT_ITEMS).map(clip);
    if (value.length > MAX_EVENT_ITEMS) kept.push(`... (clipped, ${value.length} items)`);
    return kept;
  }
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    // fromEntries defines keys as data properties, so even a "__proto__" key stays a key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clip(v)]));
  }
  return value;
}
