// Counter: counts its calls in the service's own kv store. "reset" sets it back to zero.
import { kv, log } from "solo";

export function handle(request: string): string {
  if (request === "reset") {
    kv.delete("count");
    return "0";
  }
  const next = Number(kv.get("count") ?? "0") + 1;
  kv.set("count", String(next));
  log.debug(`count is now ${next}`);
  return String(next);
}
