// Greeter: greets with a phrase kept in the vault, so the phrase can change without a deploy.
// Deploy with capability secret:greeting; store it with `solo secret put TENANT greeting`.
import { secrets } from "solo";

export function handle(request: string): string {
  let greeting: string;
  try {
    greeting = secrets.get("greeting");
  } catch (err) {
    // not-found until an operator stores it: say what to do, as a handled failure.
    throw new Error(`no greeting yet (${err instanceof Error ? err.message : String(err)}); store the secret "greeting"`);
  }
  return `${greeting}, ${request || "stranger"}!`;
}
