// Front: counts its own visitors in kv, asks the "counter" service for the total, and records a
// guest event for each visit. Deploy counter first, then front with capabilities
// log,kv,call:counter,emit.
import { events, kv, services } from "solo";

export function handle(request: string): string {
  const visitor = request || "someone";
  const mine = Number(kv.get(`visits:${visitor}`) ?? "0") + 1;
  kv.set(`visits:${visitor}`, String(mine));
  const total = services.call("counter", "");
  events.emit("visited", JSON.stringify({ visitor, visits: mine, total: Number(total) }));
  return `${visitor} has visited ${mine} time(s); ${total} visit(s) in all`;
}
