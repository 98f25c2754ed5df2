// Transform: JSON in, JSON out. Takes {"items":[{"name","price","qty"}]} and answers the order
// total and the items sorted by line total; a request that is not such JSON is a GUEST_ERROR.
interface Item {
  name: string;
  price: number;
  qty: number;
}

export function handle(request: string): string {
  let input: { items?: Item[] };
  try {
    input = JSON.parse(request);
  } catch {
    throw new Error('request must be JSON like {"items":[{"name":"a","price":2,"qty":3}]}');
  }
  if (!Array.isArray(input.items)) throw new Error('request needs an "items" array');
  const lines = input.items.map((it) => ({ name: String(it.name), total: Number(it.price) * Number(it.qty) }));
  lines.sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  const total = lines.reduce((sum, l) => sum + l.total, 0);
  return JSON.stringify({ total, lines });
}
