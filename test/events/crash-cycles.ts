// Kills a writer process with SIGKILL at random moments and checks, after each, that everything
// it had acknowledged is on disk, ids only increase, and the hash chain verifies. With
// keepEvents, the writer also compacts the log to that many events as fast as it can (retention
// racing the appends); an acknowledged event before the checkpoint was compacted, not lost.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventStore } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const REGISTER = join(here, "..", "..", "bin", "ts-register.mjs");

export interface CycleReport {
  cycles: number;
  acknowledgedEvents: number;
  acknowledgedKv: number;
  lostEvents: number;
  lostKv: number;
  outOfOrder: number;
  chainFailures: number;
  /** Acknowledged events that retention removed (before the checkpoint). */
  compactedEvents: number;
}

export async function crashCycles(dir: string, cycles: number, maxRunMs = 400, keepEvents?: number): Promise<CycleReport> {
  const report: CycleReport = { cycles, acknowledgedEvents: 0, acknowledgedKv: 0, lostEvents: 0, lostKv: 0, outOfOrder: 0, chainFailures: 0, compactedEvents: 0 };
  let seen: string | undefined; // the newest id checked so far: each cycle reads only what is new
  for (let c = 0; c < cycles; c++) {
    const acked = await runAndKill(dir, `r${c}`, 50 + Math.floor(Math.random() * maxRunMs), keepEvents);
    const storage = await Storage.open(dir);
    try {
      const store = await EventStore.open(storage);
      const cut = (await storage.meta()).checkpoint?.before ?? "";
      const fresh = await store.list({ after: seen });
      const ids = new Set(fresh.map((e) => e.id));
      let prev = seen ?? "";
      for (const e of fresh) {
        if (e.id <= prev) report.outOfOrder++;
        prev = e.id;
      }
      seen = prev || seen;
      for (const id of acked.events) {
        if (ids.has(id)) continue;
        if (id < cut) report.compactedEvents++;
        else report.lostEvents++;
      }
      const scopes = new Map<string, Map<string, string>>();
      for (const [scope, key, value] of acked.kv) {
        if (!scopes.has(scope)) scopes.set(scope, new Map(await storage.kvLoad(scope)));
        if (scopes.get(scope)!.get(key) !== value) report.lostKv++;
      }
      if (!(await store.verify()).ok) report.chainFailures++;
      report.acknowledgedEvents += acked.events.length;
      report.acknowledgedKv += acked.kv.length;
    } finally {
      await storage.close();
    }
  }
  return report;
}

function runAndKill(dir: string, run: string, afterMs: number, keepEvents?: number): Promise<{ events: string[]; kv: [string, string, string][] }> {
  return new Promise((resolve, reject) => {
    const args = ["--import", REGISTER, join(here, "crash-writer.ts"), dir, run, ...(keepEvents === undefined ? [] : [String(keepEvents)])];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const events: string[] = [];
    const kv: [string, string, string][] = [];
    let rest = "";
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d: Buffer) => {
      const lines = (rest + d.toString()).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (line === "READY") setTimeout(() => child.kill("SIGKILL"), afterMs);
        else if (line.startsWith("E ")) events.push(line.slice(2));
        else if (line.startsWith("K ")) {
          const [, scope, key, value] = line.split(" ");
          kv.push([scope!, key!, value!]);
        }
      }
    });
    child.on("close", (code, signal) => {
      if (signal !== "SIGKILL") reject(new Error(`writer ended by itself (${code}): ${stderr}`));
      else resolve({ events, kv });
    });
  });
}
