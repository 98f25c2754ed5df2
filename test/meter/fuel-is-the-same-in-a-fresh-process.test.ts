// Fuel is a function of the guest and its input only: each bench guest, metered from its bytes
// in two fresh processes and in this one, charges the same units for the same calls.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import * as assert from "uvu/assert";
import { inspectComponent } from "../../host/wasm/index.ts";
import { transpileComponent } from "../../host/wasm/transpile.ts";
import { compiled } from "../fuzz/compiled.ts";
import { ROOT, test } from "../helpers.ts";
import { AS_INPUTS, JS_INPUTS, fuelOf } from "./fuel-run.ts";

const run = promisify(execFile);

test("every bench guest uses the same fuel for the same calls in fresh processes", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-fuel-fresh-"));
  try {
    for (const name of Object.keys(AS_INPUTS)) {
      const component = await compiled("assemblyscript", readFileSync(join(ROOT, "bench", "guests", `${name}.as.ts`), "utf8"), `${name}.as.ts`);
      const inspected = inspectComponent(component);
      if (inspected.kind !== "core" || inspected.stringEncoding !== "utf16") throw new Error(`${name}: expected one core module with UTF-16 strings`);
      writeFileSync(join(dir, `${name}.wasm`), inspected.module);
    }
    const js = await compiled("typescript", readFileSync(join(ROOT, "bench", "guests", "rows.ts"), "utf8"), "rows.ts");
    const { glue, modules } = await transpileComponent(js);
    mkdirSync(join(dir, "js"));
    writeFileSync(join(dir, "js", "package.json"), '{"type":"module"}');
    writeFileSync(join(dir, "js", "guest.js"), glue);
    for (const [file, bytes] of Object.entries(modules)) writeFileSync(join(dir, "js", file), bytes);

    const child = () => run(process.execPath, ["--import", join(ROOT, "bin", "ts-register.mjs"), join(ROOT, "test", "meter", "fuel-run.ts"), dir], { cwd: ROOT, maxBuffer: 1 << 20 });
    const [a, b] = await Promise.all([child(), child()]);
    const first = JSON.parse(a.stdout.trim().split("\n").at(-1)!) as Record<string, number[]>;
    const second = JSON.parse(b.stdout.trim().split("\n").at(-1)!) as Record<string, number[]>;
    assert.equal(Object.keys(first).sort(), ["quicksort", "rows", "sha256", "tokenizer"]);
    for (const [name, fuels] of Object.entries(first)) {
      assert.is(fuels.length, name === "rows" ? JS_INPUTS.length : AS_INPUTS[name]!.length);
      for (const f of fuels) assert.ok(f > 0, `${name} used fuel`);
    }
    assert.equal(second, first, "two fresh processes");
    assert.equal(await fuelOf(dir), first, "this process");
    assert.ok(first.sha256![0]! > first.sha256![1]!, "more input, more fuel");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
