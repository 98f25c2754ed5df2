// `npm run bench`: runs each benchmark in its own process, one after another (they measure
// time, so they must not share the two cores). Each prints one JSON object as its last line.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const register = join(here, "..", "bin", "ts-register.mjs");
const all = ["cli.ts", "meter-overhead.ts", "calls.ts", "service-calls.ts", "javascript.ts", "events.ts", "capability.ts", "secrets.ts", "swap.ts", "noisy-neighbour.ts", "api-grpc.ts", "api-ws.ts", "telemetry.ts", "crash.ts", "overload.ts", "fuzz.ts", "soak.ts", "typecheck.ts"];
const chosen = process.argv.slice(2);
const benches = chosen.length ? all.filter((b) => chosen.some((c) => b.includes(c))) : all;
let failed = 0;
for (const bench of benches) {
  process.stdout.write(`\n== ${bench}\n`);
  const r = spawnSync(process.execPath, ["--import", register, join(here, bench)], { stdio: "inherit" });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
