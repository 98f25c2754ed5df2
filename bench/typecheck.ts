// What the TypeScript type check costs a deploy (host/validate/typecheck.ts). Cold: a fresh
// process loads the checker and checks one guest (what the builder pays on its first TypeScript
// job). Warm: later checks in the same process (the program and lib files reused). Then three
// deploys of new TypeScript sources, to set the warm check against a whole build.
// Last line: JSON with each figure (ms).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Host } from "../host/index.ts";
import { typeCheck } from "../host/validate/index.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const register = join(root, "bin", "ts-register.mjs");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// Cold, in a fresh process: the checker's load and the first check.
const child = `
import { typeCheck } from ${JSON.stringify(join(root, "host", "validate", "index.ts"))};
import { readFileSync } from "node:fs";
const source = readFileSync(${JSON.stringify(join(root, "examples", "counter.ts"))}, "utf8");
const t0 = performance.now();
typeCheck({ source });
const first = performance.now() - t0;
const t1 = performance.now();
typeCheck({ source: source + "\\n// again\\n" });
console.log(JSON.stringify({ first, second: performance.now() - t1 }));
`;
const colds: { first: number; second: number }[] = [];
for (let i = 0; i < 3; i++) {
  const r = spawnSync(process.execPath, ["--import", register, "--input-type=module", "-e", child], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  colds.push(JSON.parse(r.stdout.trim().split("\n").pop()!));
}

// Warm, here: small and larger guests.
const warm = (file: string) => {
  const source = readFileSync(join(root, "examples", file), "utf8");
  typeCheck({ source });
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    typeCheck({ source: `${source}\n// ${i}\n` });
    times.push(performance.now() - t0);
  }
  return median(times);
};
const warmCounter = warm("counter.ts");
const warmTransform = warm("transform.ts");

// Whole deploys of new TypeScript sources (each compiled: QuickJS, metering), for scale.
const dataDir = mkdtempSync(join(tmpdir(), "solo-bench-typecheck-"));
const deploys: number[] = [];
try {
  const host = await Host.open({ dataDir, workers: 1, metrics: false });
  try {
    const source = readFileSync(join(root, "examples", "counter.ts"), "utf8");
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await host.deploy({ tenant: "b", service: `s${i}`, source: `${source}\n// ${Date.now()} ${i}\n`, file: "counter.ts" });
      deploys.push(performance.now() - t0);
    }
  } finally {
    await host.close();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}

const result = {
  coldFirstCheckMs: Math.round(median(colds.map((c) => c.first))),
  coldSecondCheckMs: Math.round(median(colds.map((c) => c.second))),
  warmCheckCounterMs: Number(warmCounter.toFixed(1)),
  warmCheckTransformMs: Number(warmTransform.toFixed(1)),
  // The first deploy includes the builder's start and the checker's load.
  deployFirstMs: Math.round(deploys[0]!),
  deployWarmMs: Math.round(median(deploys.slice(1))),
  warmCheckShareOfDeploy: Number((warmCounter / median(deploys.slice(1))).toFixed(3)),
};
console.log(`cold: load + first check ${result.coldFirstCheckMs} ms, then ${result.coldSecondCheckMs} ms; warm: counter.ts ${result.warmCheckCounterMs} ms, transform.ts ${result.warmCheckTransformMs} ms`);
console.log(`deploys of new TypeScript sources: first ${result.deployFirstMs} ms, then ${result.deployWarmMs} ms (a warm check is ${(result.warmCheckShareOfDeploy * 100).toFixed(1)}% of it)`);
console.log(JSON.stringify(result));
