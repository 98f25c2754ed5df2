// The host's Node flags (docs/OPERATIONS.md): `solo start` run as a program (its first two lines
// are a sh script) and `npm start` start Node with a young generation of at least 16 MiB, which V8
// then never shrinks.
// Without it, an idle host gives its young generation back (~20-30 s after it went quiet) and the
// next burst of load grows it again, paying a page fault per 4 KB on the API thread (~12 us each
// on this VM) inside its collections. Seen from outside: the heap space series on /metrics.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { TEST_CACHE, test } from "../helpers.ts";
import { SOLO, startSolo, type Started } from "./spawn.ts";

const root = mkdtempSync(join(tmpdir(), "solo-young-"));
const args = (name: string) => ["--data", join(root, name), "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--workers", "1", "--cache", TEST_CACHE, "--metrics-port", "0"];
// An idle host keeps one semi-space committed (V8 gives the other back): 16 MiB with the flags.
const FLOOR = 16 * 1024 * 1024;
// The program and npm find `node` on PATH: this test's own Node comes first.
const SAME_NODE = { PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` };

/** The young generation's committed size (bytes), as /metrics reports it. */
async function youngBytes(s: Started): Promise<number> {
  const url = (s.ready as { metrics?: string }).metrics;
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^solo_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(text);
  if (!m) throw new Error(`no new-space series on /metrics:\n${text.slice(0, 400)}`);
  return Number(m[1]);
}

test("solo start and npm start keep a 16 MiB young generation through an idle spell in which a plain `node bin/solo.mjs start` gives it back", async () => {
  const started: Started[] = [];
  try {
    // The three at once, so they sit idle for the same spell.
    const [installed, npm, plain] = await Promise.all([
      startSolo(args("installed"), SAME_NODE, [SOLO, "start"]),
      startSolo(args("npm"), SAME_NODE, ["npm", "start", "--silent", "--"]),
      startSolo(args("plain"), {}),
    ]);
    started.push(installed, npm, plain);
    // The plain host shrinks once V8's memory reducer sees it idle (at most 180 s); the others
    // are read every second until 20 s after that, since each process's reducer keeps its own time.
    const deadline = Date.now() + 180_000;
    let shrankAt = 0;
    let plainBytes = 0;
    const least = [Infinity, Infinity];
    while (Date.now() < deadline && (shrankAt === 0 || Date.now() - shrankAt < 20_000)) {
      await new Promise((r) => setTimeout(r, 1000));
      const [a, b, c] = await Promise.all([youngBytes(installed), youngBytes(npm), youngBytes(plain)]);
      least[0] = Math.min(least[0]!, a);
      least[1] = Math.min(least[1]!, b);
      plainBytes = c;
      if (shrankAt === 0 && c < FLOOR) shrankAt = Date.now();
    }
    assert.ok(shrankAt > 0, `the plain host gave its young generation back while idle (${plainBytes} bytes)`);
    assert.ok(least[0]! >= FLOOR, `solo start, run as a program, kept its young generation (at least ${least[0]} bytes)`);
    assert.ok(least[1]! >= FLOOR, `npm start kept its young generation (at least ${least[1]} bytes)`);

    // npm start's shell execs the host, so npm's SIGTERM, passed on, reaches it and it closes.
    await npm.stop("SIGTERM");
    assert.match(npm.stderr(), /solo: closed/);
  } finally {
    await Promise.all(started.map((s) => s.stop("SIGTERM")));
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
