// The vault: what a guest's secrets.get costs (in its worker: a map lookup and a string copy), a
// call that reads one secret against one that reads none (the secret_accessed budget spent, as
// in steady state), stores/s (each synced with its event, one at a time), an in-process retrieve
// (one AES-GCM decryption) and a rotation of 1,000 secrets. Last line: one JSON object.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host } from "../host/index.ts";
import { median, report, round } from "./common.ts";

const READER = `
import { secrets } from "solo";
export function handle(request: string): string {
  if (request == "none") return "";
  const n = request == "many" ? 10000 : 1;
  let len = 0;
  for (let i = 0; i < n; i++) { const s = secrets.get("db"); if (s !== null) len += s.length; }
  return len.toString();
}
`;

const dir = mkdtempSync(join(tmpdir(), "solo-bench-vault-"));
const host = await Host.open({ dataDir: dir, workers: 1 });
try {
  await host.deploy({ tenant: "t", service: "reader", source: READER, language: "assemblyscript", capabilities: ["secret:db"] });
  await host.putSecret("t", "db", "x".repeat(64));
  const time = async (request: string, n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await host.call("t", "reader", request);
      out.push((performance.now() - t0) * 1000);
    }
    return out;
  };
  await time("one", 500); // spends the service's secret_accessed burst: steady state after
  const none: number[] = [];
  const one: number[] = [];
  for (let r = 0; r < 10; r++) {
    none.push(...(await time("none", 200)));
    one.push(...(await time("one", 200)));
  }
  const many = await time("many", 50);
  const readUs = (median(many) - median(none)) / 10_000;

  const n = 200;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) await host.putSecret("s", `k${i}`, `value ${i}`);
  const storesPerSec = n / ((performance.now() - t0) / 1000);
  const writes: Promise<unknown>[] = [];
  for (let i = n; i < 1000; i++) writes.push(host.putSecret("s", `k${i}`, `value ${i}`));
  await Promise.all(writes);
  t0 = performance.now();
  for (let i = 0; i < 10_000; i++) host.secret("s", `k${i % 1000}`);
  const retrieveUs = ((performance.now() - t0) * 1000) / 10_000;
  t0 = performance.now();
  const rotated = await host.rotateSecrets();
  const rotateMs = performance.now() - t0;

  report({
    bench: "secrets",
    secretReadUs: round(readUs, 3),
    callNoSecretUs: round(median(none), 1),
    callOneSecretUs: round(median(one), 1),
    storesPerSec: Math.round(storesPerSec),
    retrieveUs: round(retrieveUs, 2),
    rotatedSecrets: rotated.secrets,
    rotateMs: Math.round(rotateMs),
  });
} finally {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
}
