import { test } from "../helpers.ts";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashCycles } from "./crash-cycles.ts";

test("8 SIGKILLs under load: every acknowledged append and kv commit survives, ids stay monotonic, the chain verifies", async () => {
  const dir = mkdtempSync(join(tmpdir(), "solo-crash-"));
  try {
    const r = await crashCycles(join(dir, "db"), 8);
    console.log(JSON.stringify(r));
    assert.ok(r.acknowledgedEvents > 100, `the writer got work done (${r.acknowledgedEvents} events)`);
    assert.ok(r.acknowledgedKv > 20);
    assert.is(r.lostEvents, 0);
    assert.is(r.lostKv, 0);
    assert.is(r.outOfOrder, 0);
    assert.is(r.chainFailures, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
