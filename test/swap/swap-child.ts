// A host process the SIGKILL test kills at random moments: it opens the data directory, reports
// what it finds (OPEN), then swaps one service back and forth between two versions, calling it
// after each swap, printing each acknowledgement as it happens. Each version's migrate stores the
// version it replaced in kv, and each reply shows it. Run by
// a-sigkill-during-swaps-leaves-one-version.test.ts.
import { verifyChain } from "./swap-check.ts";
import { Host } from "../../host/index.ts";
import { TEST_CACHE } from "../helpers.ts";
import { migrating } from "./guests.ts";

const dataDir = process.argv[2]!;
const out = (line: string) => process.stdout.write(`${line}\n`);
const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
if (host.list("a").length === 0) {
  await host.deploy({ tenant: "a", service: "c", source: migrating("A"), language: "assemblyscript" });
  out("DEPLOYED");
}
const status = host.status("a", "c");
const current = host.versions("a", "c").find((v) => v.current)!;
const first = await host.call("a", "c", "x");
out(`OPEN ${JSON.stringify({ version: status.version, state: status.state, sourceHash: current.sourceHash, reply: first.output, versions: host.versions("a", "c").length, chain: await verifyChain(host) })}`);
out("READY");
let label = first.output.split(":")[0]!;
for (;;) {
  const next = label === "A" ? "B" : "A";
  const r = await host.swap({ tenant: "a", service: "c", source: migrating(next), language: "assemblyscript", rollbackWindowMs: 0 });
  label = next;
  out(`SWAPPED ${r.version} ${next}`);
  out(`CALL ${(await host.call("a", "c", "x")).output}`);
}
