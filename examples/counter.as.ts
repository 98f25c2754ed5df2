// Counter: counts the calls it has had in the service's own kv store.
// Request "reset" sets it back to zero; anything else adds one and answers the new count.
import { kv, log, fail } from "solo";

export function handle(request: string): string {
  if (request == "reset") {
    if (!kv.del("count")) return fail("could not reset the counter");
    return "0";
  }
  const current = kv.get("count");
  const next = (current === null ? 0 : I32.parseInt(current)) + 1;
  if (!kv.set("count", next.toString())) return fail("could not store the count");
  log.debug("count is now " + next.toString());
  return next.toString();
}
