// A CPU-bound TypeScript guest (QuickJS): N rows built as objects, sorted, hashed; answers the hash.
// String building, objects, arrays, a comparator and integer math: the interpreter's usual work.
export function handle(request: string): string {
  const n = Number(request);
  const rows: { id: number; name: string; score: number }[] = [];
  for (let i = 0; i < n; i++) rows.push({ id: i, name: "row" + i, score: (i * 7919) % 1000 });
  rows.sort((a, b) => a.score - b.score || a.id - b.id);
  let h = 2166136261;
  for (const r of rows) for (let k = 0; k < r.name.length; k++) h = Math.imul(h ^ r.name.charCodeAt(k), 16777619) >>> 0;
  return String(h);
}
