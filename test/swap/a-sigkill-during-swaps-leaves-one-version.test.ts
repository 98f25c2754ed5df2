// Kills a host with SIGKILL at random moments while it swaps a service back and forth (each
// swap then a call), 10 times (each cycle starts a host process, ~2 s of CPU). Each reopen must find exactly one consistent version: the code
// that answers is the code of the version recorded as current, the version is the last
// acknowledged one or the one whose swap was in flight, the kv count carries on from the last
// acknowledged call, the kv holds exactly the migration that made it current, and the event
// chain verifies.
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openHost, test } from "../helpers.ts";
import { migrating } from "./guests.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const REGISTER = join(here, "..", "..", "bin", "ts-register.mjs");
const CYCLES = 10;
const hashOf = (label: string) => createHash("sha256").update(migrating(label)).digest("hex");
/** A reply "<label>:<count>:<from>" (from: the version migrate last ran from, "-" for none). */
const parse = (reply: string) => {
  const [label, count, from] = reply.split(":");
  return { label: label!, count: Number(count), from: from! };
};

interface Opened { version: number; state: string; sourceHash: string; reply: string; versions: number; chain: boolean }
interface Run { opened: Opened; swapped: { version: number; label: string }[]; calls: string[] }

/** Runs the child until it has been READY for `afterMs`, then SIGKILLs it (or lets it report, if afterMs < 0). */
function runChild(dir: string, afterMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", REGISTER, join(here, "swap-child.ts"), dir], { stdio: ["ignore", "pipe", "pipe"] });
    const run: Run = { opened: undefined as unknown as Opened, swapped: [], calls: [] };
    let rest = "";
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d: Buffer) => {
      const lines = (rest + d.toString()).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith("OPEN ")) run.opened = JSON.parse(line.slice(5));
        else if (line === "READY") setTimeout(() => child.kill("SIGKILL"), Math.max(0, afterMs));
        else if (line.startsWith("SWAPPED ")) {
          const [, v, label] = line.split(" ");
          run.swapped.push({ version: Number(v), label: label! });
        } else if (line.startsWith("CALL ")) run.calls.push(line.slice(5));
      }
    });
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL" && run.opened) resolve(run);
      else reject(new Error(`the child ended with ${signal ?? code} before it was killed: ${stderr.slice(-2000)}`));
    });
  });
}

test(`SIGKILL at random points of ${CYCLES} swap cycles: each reopen finds one consistent version with its kv`, async () => {
  // Both versions compiled once first (the artifact cache is shared): a kill during a cold compile
  // would only ever hit the builder, never a swap.
  const warm = await openHost({ workers: 1 });
  try {
    await warm.host.deploy({ tenant: "a", service: "c", source: migrating("A"), language: "assemblyscript" });
    await warm.host.swap({ tenant: "a", service: "c", source: migrating("B"), language: "assemblyscript", rollbackWindowMs: 0 });
  } finally {
    await warm.close();
  }
  const dir = mkdtempSync(join(tmpdir(), "solo-swap-kill-"));
  try {
    let last: { version: number; label: string; count: number } | undefined;
    let swapsAcked = 0;
    for (let c = 0; c <= CYCLES; c++) {
      const run = await runChild(dir, 20 + Math.floor(Math.random() * 300));
      const o = run.opened;
      const { label, count, from } = parse(o.reply);
      assert.is(o.state, "running", `cycle ${c}: the service runs`);
      assert.ok(o.chain, `cycle ${c}: the event chain verifies`);
      // Never a mix: what answers is the code of the version recorded as current.
      assert.is(o.sourceHash, hashOf(label), `cycle ${c}: version ${o.version} answered as ${label}`);
      assert.is(o.versions, o.version, `cycle ${c}: the history holds every version up to the current one`);
      // The kv went through exactly the migration that made this version current: written in the
      // same batch as the switch, never without it or after a switch that did not happen.
      assert.is(from, o.version === 1 ? "-" : String(o.version - 1), `cycle ${c}: version ${o.version} with kv migrated from ${from}`);
      if (last) {
        // The last acknowledged version, or the next one if its swap was durable before the kill.
        assert.ok(o.version === last.version || o.version === last.version + 1, `cycle ${c}: version ${o.version} after ${last.version} was acknowledged`);
        if (o.version === last.version) assert.is(label, last.label, `cycle ${c}: version ${o.version} answers as it did`);
        // The count carries on: the call at open is the next one, or the one after a call whose
        // commit was durable but not yet acknowledged.
        assert.ok(count === last.count + 1 || count === last.count + 2, `cycle ${c}: count ${count} after ${last.count} was acknowledged`);
      }
      const lastSwap = run.swapped[run.swapped.length - 1];
      const lastCall = run.calls[run.calls.length - 1];
      swapsAcked += run.swapped.length;
      last = {
        version: lastSwap?.version ?? o.version,
        label: lastSwap?.label ?? label,
        count: lastCall ? parse(lastCall).count : count,
      };
      // Every call acknowledged after a swap answered as the version that swap made current.
      run.calls.forEach((call, i) => assert.is(parse(call).label, run.swapped[i]!.label, `cycle ${c}: call ${i} after swap ${i}`));
    }
    console.log(`${CYCLES} SIGKILLs, ${swapsAcked} swaps acknowledged, every reopen consistent`);
    assert.ok(swapsAcked >= CYCLES, "the kills landed while swaps were running");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
