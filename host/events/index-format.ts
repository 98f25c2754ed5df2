// The secondary indexes of the event log: one entry per (batch, tenant | service | type), never
// one per event (each index key costs ~10 us to write). An entry's value is the "offset:length"
// of each of the key's events in the batch, or, for a key with at most INLINE events in the
// batch, "=" and the events themselves (one line each), so that a query for a rare tenant or type
// reads a few hundred bytes instead of the whole batch.
import { serviceIndex, tenantIndex, typeIndex } from "../storage/layout.ts";

const INLINE = 2;

/**
 * The index entries of one batch (its `bodies`, in order): [key prefix (the batch's first id
 * completes the key), value]. `index` holds tenant, service ("" if none), type of each event,
 * flattened. Offsets count UTF-16 units of the batch's text (its bodies joined by "\n").
 */
export function batchIndex(bodies: string[], index: string[]): [prefix: string, value: string][] {
  // Grouped by the names as they come, and each key made once per batch: a key string made per
  // event had to be flattened and hashed for the map, three times an event.
  const tenants = new Map<string, { events: number[]; services: Map<string, number[]> }>();
  const types = new Map<string, number[]>();
  for (let i = 0; i < bodies.length; i++) {
    const tenant = index[3 * i]!;
    const service = index[3 * i + 1]!;
    const type = index[3 * i + 2]!;
    let t = tenants.get(tenant);
    if (t === undefined) tenants.set(tenant, (t = { events: [], services: new Map() }));
    t.events.push(i);
    if (service) {
      const list = t.services.get(service);
      if (list) list.push(i);
      else t.services.set(service, [i]);
    }
    const list = types.get(type);
    if (list) list.push(i);
    else types.set(type, [i]);
  }
  const at: number[] = new Array(bodies.length);
  for (let i = 0, o = 0; i < bodies.length; i++) {
    at[i] = o;
    o += bodies[i]!.length + 1;
  }
  // An event's "offset:length" is made once, whichever of its keys needs it first.
  const where: (string | undefined)[] = new Array(bodies.length);
  const value = (list: number[]) => (list.length > INLINE ? list.map((i) => (where[i] ??= `${at[i]}:${bodies[i]!.length}`)).join(",") : "=" + list.map((i) => bodies[i]).join("\n"));
  const out: [string, string][] = [];
  for (const [tenant, t] of tenants) {
    out.push([tenantIndex(tenant), value(t.events)]);
    for (const [service, list] of t.services) out.push([serviceIndex(tenant, service), value(list)]);
  }
  for (const [type, list] of types) out.push([typeIndex(type), value(list)]);
  return out;
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
