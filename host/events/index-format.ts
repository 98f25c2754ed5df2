// The secondary indexes of the event log: one entry per (batch, tenant | service | type), never
// one per event (each index key costs ~10 us to write). An entry's value is the "offset:length"
// of each of the key's events in the batch, or, for a key with at most INLINE events in the
// batch, "=" and the events themselves (one line each), so that a query for a rare tenant or type
// reads a few hundred bytes instead of the whole batch.
import { serviceIndex, tenantIndex, typeIndex } from "../storage/layout.ts";

const INLINE = 2;

/**
 * The index entries of one batch: [key prefix (the batch's first id completes the key), value].
 * `index` holds tenant, service ("" if none), type of each event, flattened.
 */
export function batchIndex(events: string, bodies: string[], index: string[]): [prefix: string, value: string][] {
  const positions = new Map<string, string[]>();
  const add = (k: string, where: string) => {
    const list = positions.get(k);
    if (list) list.push(where);
    else positions.set(k, [where]);
  };
  let at = 0;
  for (let i = 0; i < bodies.length; i++) {
    const where = `${at}:${bodies[i]!.length}`;
    at += bodies[i]!.length + 1;
    const tenant = index[3 * i]!;
    const service = index[3 * i + 1]!;
    add(tenantIndex(tenant), where);
    if (service) add(serviceIndex(tenant, service), where);
    add(typeIndex(index[3 * i + 2]!), where);
  }
  return [...positions].map(([prefix, list]) => [prefix, entryValue(list, events)]);
}

function entryValue(where: string[], batch: string): string {
  if (where.length > INLINE) return where.join(",");
  return "=" + where.map((w) => slice(batch, w)).join("\n");
}

function slice(batch: string, where: string): string {
  const colon = where.indexOf(":");
  const from = Number(where.slice(0, colon));
  return batch.slice(from, from + Number(where.slice(colon + 1)));
}

/** The event lines an entry points at; `batch` reads the whole batch when they are not inline. */
export async function entryLines(value: string, batch: () => Promise<string>): Promise<string[]> {
  if (value.startsWith("=")) return value.slice(1).split("\n");
  const all = await batch();
  return value.split(",").map((w) => slice(all, w));
}
