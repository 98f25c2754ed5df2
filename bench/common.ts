// Shared helpers for the benchmarks: compile a guest both metered and plain, time things.
import { readFileSync } from "node:fs";
import { compileAssemblyScript } from "../host/compile/assemblyscript.ts";
import { witOk, Sandbox, type GuestEnv } from "../host/runtime/index.ts";
import { ensureWasmFeatures, inspectComponent, meter } from "../host/wasm/index.ts";

/**
 * Quick mode (`SOLO_BENCH_QUICK=1`, or `npm run bench -- --quick`): fewer rounds and shorter
 * loads, so a full run takes minutes, not a quarter of an hour. The same figures, less steady:
 * medians over fewer samples, the event load for fewer seconds.
 */
export const QUICK = process.env.SOLO_BENCH_QUICK === "1";

/** `full` in a normal run, `quick` in quick mode. */
export const scaled = (full: number, quick: number): number => (QUICK ? quick : full);

export interface BenchGuest {
  metered: WebAssembly.Module;
  plain: WebAssembly.Module;
  encoding: "utf8" | "utf16";
}

export async function compileGuest(path: string): Promise<BenchGuest> {
  ensureWasmFeatures();
  const component = await compileAssemblyScript(readFileSync(new URL(path, import.meta.url), "utf8"), path);
  const inspected = inspectComponent(component);
  if (inspected.kind !== "core") throw new Error("expected a single-module component");
  return {
    metered: new WebAssembly.Module(meter(inspected.module).bytes),
    plain: new WebAssembly.Module(new Uint8Array(inspected.module)),
    encoding: inspected.stringEncoding,
  };
}

/** An environment whose imports answer at once; kv is a plain map. */
export function quietEnv(): GuestEnv {
  const kv = new Map<string, string>();
  return {
    log: () => {},
    kvGet: (k) => witOk(kv.get(k)),
    kvSet: (k, v) => (kv.set(k, v), witOk(undefined)),
    kvDelete: (k) => (kv.delete(k), witOk(undefined)),
    kvKeys: (p) => witOk([...kv.keys()].filter((k) => k.startsWith(p))),
    kvCount: () => kv.size,
    secretGet: () => ({ ok: false, kind: "access-denied", message: "" }),
    serviceCall: () => ({ ok: false, kind: "access-denied", message: "" }),
    emit: () => ({ ok: false, kind: "access-denied", message: "" }),
    nextU64: () => 4n,
    nowMs: () => BigInt(Date.now()),
    monotonicNs: () => process.hrtime.bigint(),
    randomFill: (target) => void target.fill(4),
  };
}

export function sandbox(module: WebAssembly.Module, encoding: "utf8" | "utf16"): Sandbox {
  return Sandbox.create(module, { encoding, memoryLimitBytes: 256 * 1024 * 1024, startFuel: 1_000_000_000, env: quietEnv() });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/** Prints the bench's result as its last line, one JSON object. */
export function report(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(result) + "\n");
}
