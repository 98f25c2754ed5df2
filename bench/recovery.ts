// Host.open with many stored services: how long the open takes (recovery of every service: its
// record, artifact, kv and install on a worker), how many instances are live right after it, and
// that every service answers its first call.
//
// N echo services (AssemblyScript, one artifact) over N/500 tenants, on a host that is then
// closed; then the same data directory is opened ROUNDS times and each open is timed.
// Run: node --import ./bin/ts-register.mjs bench/recovery.ts [N=1000] [ROUNDS=3]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../host/index.ts";
import { median, report, round } from "./common.ts";

const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 3);
const ECHO_AS = readFileSync(new URL("../examples/echo.as.ts", import.meta.url), "utf8");
const dir = mkdtempSync(join(tmpdir(), "solo-bench-recovery-"));
const options = { dataDir: join(dir, "data"), cacheDir: join(dir, "artifacts"), workers: 2, admission: { enabled: false } };
const name = (i: number) => [`t${i % Math.ceil(N / 500)}`, `echo${i}`] as const;

try {
  const first = await Host.open(options);
  for (let i = 0; i < N; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, k) => first.deploy({ tenant: name(i + k)[0], service: name(i + k)[1], source: ECHO_AS, language: "assemblyscript" })));
  }
  await first.close();

  const openMs: number[] = [];
  let liveAfterOpen = 0;
  let firstCallsMs = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    const host = await Host.open(options);
    openMs.push(performance.now() - t0);
    try {
      liveAfterOpen = host.stats().instances.live;
      const t1 = performance.now();
      for (let i = 0; i < N; i += 50) {
        await Promise.all(Array.from({ length: Math.min(50, N - i) }, async (_, k) => {
          const [tenant, service] = name(i + k);
          const out = (await host.call(tenant, service, "hi")).output;
          if (out !== "hi") throw new Error(`${tenant}/${service} answered ${out}`);
        }));
      }
      firstCallsMs = performance.now() - t1;
    } finally {
      await host.close();
    }
  }
  report({
    bench: "recovery",
    services: N,
    openMs: round(median(openMs)),
    openMsEach: openMs.map((x) => round(x)).join(" "),
    liveAfterOpen,
    firstCallOfEveryServiceMs: round(firstCallsMs),
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
