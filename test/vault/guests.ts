// Guests the vault tests deploy: each answers "value <secret>" for a request naming a secret, or
// the error the import answered ("not-found: ..."), so a test sees exactly what the guest saw.

/** AssemblyScript. "loop:NAME" reads NAME 10,000 times and answers how many reads succeeded. */
export const AS_READER = `
import { secrets, lastError } from "solo";

export function handle(request: string): string {
  if (request.startsWith("loop:")) {
    const name = request.slice(5);
    let ok = 0;
    for (let i = 0; i < 10000; i++) if (secrets.get(name) !== null) ok++;
    return ok.toString();
  }
  const s = secrets.get(request);
  if (s === null) {
    const e = lastError();
    return e === null ? "no error" : e.toString();
  }
  return "value " + s;
}
`;

/** TypeScript (QuickJS): the sdk throws a failed import's error. */
export const TS_READER = `
import { secrets } from "solo";

export function handle(request: string): string {
  try {
    return "value " + secrets.get(request);
  } catch (e) {
    return (e as Error).message;
  }
}
`;
