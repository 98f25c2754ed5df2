// gRPC API: echo calls/s and latency (p50, p99) through a real `solo start` server (mutual TLS,
// token check, METHODS, the guest in its worker) with 1, 16 and 64 concurrent clients, each on
// its own connection; against a bare grpc-js server answering the same Call message over the
// same TLS in the same run. `ratio` = Solo's calls/s over the bare server's: what Solo adds.
// Clients and server share this process (and the machine's cores), both sides alike.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { startServer } from "../host/api/server.ts";
import { SERVICE_NAME, loadSoloProto } from "../host/api/grpc-wire.ts";
import { GrpcClient } from "../host/client/index.ts";
import { percentile, report, round, scaled } from "./common.ts";

const SECONDS = Number(process.env.SOLO_BENCH_SECONDS ?? scaled(3, 1.5));
const CONCURRENCY = [1, 16, 64];
const REQUEST = "hello, solo";

interface Figures { callsPerSec: number; p50Ms: number; p99Ms: number }

/** `n` clients, each calling in a loop for SECONDS; one connection per client. */
async function measure(clients: GrpcClient[]): Promise<Figures> {
  // Warm up: connections made, the guest instance hot.
  await Promise.all(clients.map(async (c) => { for (let i = 0; i < 20; i++) await c.call("bench", "echo", REQUEST); }));
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(clients.map(async (c) => {
    while (performance.now() < end) {
      const t = performance.now();
      const r = await c.call("bench", "echo", REQUEST);
      latencies.push(performance.now() - t);
      if (r.output !== REQUEST) throw new Error(`echo answered ${JSON.stringify(r.output)}`);
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  return { callsPerSec: Math.round(latencies.length / secs), p50Ms: round(percentile(latencies, 50), 2), p99Ms: round(percentile(latencies, 99), 2) };
}

/** The same Call over the same TLS, answered at once: the floor gRPC itself costs. */
async function bareServer(tls: { ca: string; server: string; serverKey: string }): Promise<{ address: string; close(): void }> {
  const server = new grpc.Server();
  const def = loadSoloProto(false)[SERVICE_NAME] as grpc.ServiceDefinition;
  server.addService(def, {
    Call: (call: grpc.ServerUnaryCall<{ request: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { output: call.request.request, fuel: 1, memoryBytes: 65536 }),
  });
  const creds = grpc.ServerCredentials.createSsl(readFileSync(tls.ca), [{ cert_chain: readFileSync(tls.server), private_key: readFileSync(tls.serverKey) }], true);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))));
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

const dataDir = mkdtempSync(join(tmpdir(), "solo-bench-grpc-"));
const server = await startServer({ dataDir, grpc: "127.0.0.1:0", http: "127.0.0.1:0", workers: 1 });
const bare = await bareServer(server.tls);
try {
  const pem = { ca: readFileSync(server.tls.ca, "utf8"), cert: readFileSync(server.tls.admin, "utf8"), key: readFileSync(server.tls.adminKey, "utf8") };
  const token = readFileSync(server.adminTokenPath, "utf8").trim();
  const admin = await GrpcClient.connect({ address: server.grpc, ...pem, token });
  await admin.deploy({ tenant: "bench", service: "echo", source: readFileSync(new URL("../examples/echo.as.ts", import.meta.url), "utf8"), language: "assemblyscript" });
  await admin.close();

  const solo: Record<string, Figures> = {};
  const plain: Record<string, Figures> = {};
  const ratio: Record<string, number> = {};
  for (const n of CONCURRENCY) {
    for (const [address, into] of [[server.grpc, solo], [bare.address, plain]] as const) {
      const clients = await Promise.all(Array.from({ length: n }, () => GrpcClient.connect({ address, ...pem, token })));
      try {
        into[`c${n}`] = await measure(clients);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    }
    ratio[`c${n}`] = round(solo[`c${n}`]!.callsPerSec / plain[`c${n}`]!.callsPerSec, 2);
    console.log(`${n} clients: solo ${JSON.stringify(solo[`c${n}`])}, bare grpc-js ${JSON.stringify(plain[`c${n}`])}, ratio ${ratio[`c${n}`]}`);
  }
  report({ bench: "api-grpc", seconds: SECONDS, solo, bare: plain, ratio });
} finally {
  bare.close();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
