// Greeter in AssemblyScript: greets with the vault's "greeting" secret (capability
// secret:greeting); a missing secret is a handled failure that says why.
import { secrets, lastError, fail } from "solo";

export function handle(request: string): string {
  const greeting = secrets.get("greeting");
  if (greeting === null) {
    const e = lastError();
    return fail("no greeting yet (" + (e !== null ? e.toString() : "unknown") + "); store the secret \"greeting\"");
  }
  return greeting + ", " + (request.length > 0 ? request : "stranger") + "!";
}
