// Meters and runs the bench guests prepared in a folder (fuel-is-the-same-in-a-fresh-process):
// AssemblyScript core modules, and a QuickJS guest's glue and core modules. Imported by the test,
// and run as a child process (`fuel-run.ts DIR`), which prints the fuel of each call as JSON.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { quietEnv } from "../../bench/common.ts";
import { GlueSandbox, type Glue } from "../../host/runtime/glue-sandbox.ts";
import { Sandbox } from "../../host/runtime/index.ts";
import { DEFAULT_METER_SETTINGS, ensureWasmFeatures, meter } from "../../host/wasm/index.ts";

export const AS_INPUTS: Record<string, string[]> = { sha256: ["64", "3"], quicksort: ["20000", "7"], tokenizer: ["200", "1"] };
export const JS_INPUTS = ["500", "20", "x"];

/** Fuel of each call, per guest: every guest metered here, from bytes. */
export async function fuelOf(dir: string): Promise<Record<string, number[]>> {
  ensureWasmFeatures();
  const out: Record<string, number[]> = {};
  for (const [name, inputs] of Object.entries(AS_INPUTS)) {
    const module = new WebAssembly.Module(meter(readFileSync(join(dir, `${name}.wasm`))).bytes);
    const s = Sandbox.create(module, { encoding: "utf16", memoryLimitBytes: 64 << 20, startFuel: 1_000_000_000, env: quietEnv() });
    out[name] = inputs.map((input) => outcome(s.call(input, 1_000_000_000, 1 << 20)));
  }
  const glue = (await import(pathToFileURL(join(dir, "js", "guest.js")).href)) as Glue;
  const modules: Record<string, WebAssembly.Module> = {};
  for (const f of readdirSync(join(dir, "js")).filter((f) => f.endsWith(".wasm"))) {
    modules[f] = new WebAssembly.Module(meter(readFileSync(join(dir, "js", f)), { ...DEFAULT_METER_SETTINGS, sharedCounters: true }).bytes);
  }
  const g = new GlueSandbox(glue, modules, quietEnv(), 64 << 20, 1_000_000_000);
  out.rows = JS_INPUTS.map((input) => outcome(g.call(input, 1_000_000_000, 1 << 20)));
  return out;
}

function outcome(r: { ok: boolean; fuel: number }): number {
  if (!r.ok) throw new Error(`a bench guest failed: ${JSON.stringify(r)}`);
  return r.fuel;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await fuelOf(process.argv[2]!)) + "\n");
}
