// Echo calls over WebSocket JSON-RPC: the Solo HTTPS listener (session check, METHODS, a worker
// round trip) against a bare `ws` server on the same TLS that answers each frame at once, with
// 1, 16 and 64 clients (one socket each, one call in flight per client). ratio = bare calls/s ÷
// Solo calls/s at 16 clients: what the whole path costs over the transport alone.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WebSocketServer } from "ws";
import { Host } from "../host/index.ts";
import { ensureCertificates } from "../host/api/certs.ts";
import { DEFAULT_EDGE_LIMITS } from "../host/api/edge-limits.ts";
import { startHttp } from "../host/api/http-server.ts";
import { ensureAdminToken } from "../host/session/index.ts";
import { WsClient } from "../host/client/ws-client.ts";
import { percentile, report, round } from "./common.ts";

const MS = Number(process.env.BENCH_MS ?? 2000);
const dir = mkdtempSync(join(tmpdir(), "solo-bench-ws-"));
const host = await Host.open({ dataDir: dir });
const tls = await ensureCertificates(dir);
const token = readFileSync((await ensureAdminToken(host)).path, "utf8").trim();
const ca = readFileSync(tls.ca, "utf8");
const solo = await startHttp({ host, address: "127.0.0.1:0", tls, limits: { ...DEFAULT_EDGE_LIMITS, requestsPerSecond: 1e9 } });

// The bare server: same certificate, answers each request with its own text as the output.
const https = createServer({ key: readFileSync(tls.serverKey), cert: readFileSync(tls.server) });
const wss = new WebSocketServer({ server: https, path: "/v1/ws", perMessageDeflate: false });
wss.on("connection", (ws) => ws.on("message", (data) => {
  const m = JSON.parse(data.toString()) as { id: number; params: { request: string } };
  ws.send(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: { output: m.params.request } }));
}));
await new Promise<void>((r) => https.listen(0, "127.0.0.1", () => r()));
const bareUrl = `https://127.0.0.1:${(https.address() as { port: number }).port}`;

async function load(url: string, clients: number): Promise<{ callsPerSec: number; p50Us: number; p99Us: number }> {
  const cs = await Promise.all(Array.from({ length: clients }, () => WsClient.connect({ url, ca, token })));
  const lat: number[] = [];
  let done = 0;
  const until = performance.now() + MS;
  const start = performance.now();
  await Promise.all(cs.map(async (c) => {
    while (performance.now() < until) {
      const t = performance.now();
      const r = await c.call("t", "echo", "hello");
      if (r.output !== "hello") throw new Error("wrong echo");
      lat.push((performance.now() - t) * 1000);
      done++;
    }
  }));
  const secs = (performance.now() - start) / 1000;
  await Promise.all(cs.map((c) => c.close()));
  return { callsPerSec: round(done / secs, 0), p50Us: round(percentile(lat, 50), 0), p99Us: round(percentile(lat, 99), 0) };
}

try {
  await host.deploy({ tenant: "t", service: "echo", source: readFileSync(new URL("../examples/echo.as.ts", import.meta.url), "utf8"), language: "assemblyscript" });
  await load(solo.address, 4); // warm up both paths
  await load(bareUrl, 4);
  const result: Record<string, unknown> = { bench: "api-ws", ms: MS };
  for (const n of [1, 16, 64]) {
    const s = await load(solo.address, n);
    const b = await load(bareUrl, n);
    console.log(`${n} clients: solo ${s.callsPerSec}/s p50 ${s.p50Us} us p99 ${s.p99Us} us | bare ws ${b.callsPerSec}/s p50 ${b.p50Us} us p99 ${b.p99Us} us`);
    result[`c${n}`] = { solo: s, bare: b };
  }
  const c16 = result.c16 as { solo: { callsPerSec: number }; bare: { callsPerSec: number } };
  result.ratio = round(c16.bare.callsPerSec / c16.solo.callsPerSec, 2);
  report(result);
} finally {
  wss.close();
  https.close();
  await solo.close(1000);
  await host.close();
  rmSync(dir, { recursive: true, force: true });
}
