// `solo start`: the server (host, gRPC over mutual TLS, HTTPS + WebSocket) until SIGINT/SIGTERM.
// stdout carries exactly one line, the ready line, once both listeners listen, so a supervisor or
// a test can read the addresses (port 0 picks free ones); everything else goes to stderr.
import { SPIN_TURN_MS, isSpinMs } from "../runtime/call-ring.ts";
import { EXIT, UsageError, hostPort, positiveInt, quotaPairs } from "./common.ts";

export interface StartOptions {
  data: string;
  cache?: string;
  grpc: string;
  http: string;
  workers?: string;
  callSpinMs?: string;
  insecureHttp?: boolean;
  quota?: string[];
  metricsPort?: string;
}

export async function start(o: StartOptions): Promise<number> {
  const grpc = hostPort("grpc", o.grpc);
  const http = hostPort("http", o.http);
  const workers = positiveInt("workers", o.workers);
  const quotas = quotaPairs("quota", o.quota);
  const callSpinMs = o.callSpinMs === undefined ? undefined : Number(o.callSpinMs);
  if (callSpinMs !== undefined && (o.callSpinMs!.trim() === "" || !isSpinMs(callSpinMs))) throw new UsageError(`--call-spin-ms must be a number of milliseconds from 0 to ${SPIN_TURN_MS} (0: never spin), got ${JSON.stringify(o.callSpinMs)}`);
  const metricsPort = o.metricsPort === undefined ? undefined : Number(o.metricsPort);
  if (metricsPort !== undefined && (!/^\d{1,5}$/.test(o.metricsPort!) || metricsPort > 65535)) throw new UsageError(`--metrics-port must be a port from 0 to 65535 (0 picks a free one), got ${JSON.stringify(o.metricsPort)}`);
  // Listening for signals from the start: one that comes while the server opens closes it as
  // soon as it is open, without a ready line.
  let signalled = false;
  let on: (signal: string) => void = () => {};
  const stop = new Promise<string>((resolve) => {
    on = (signal: string) => ((signalled = true), resolve(signal));
    process.once("SIGINT", on);
    process.once("SIGTERM", on);
  });
  const { startServer } = await import("../api/server.ts");
  const server = await startServer({
    dataDir: o.data,
    ...(o.cache !== undefined && { cacheDir: o.cache }),
    grpc,
    http,
    insecureHttp: o.insecureHttp === true,
    ...(workers !== undefined && { workers }),
    ...(callSpinMs !== undefined && { callSpinMs }),
    ...(quotas !== undefined && { quotas }),
    ...(metricsPort !== undefined && { metricsPort }),
    onLog: (l) => process.stderr.write(`[${l.tenant}/${l.service}] ${l.level}: ${l.message}\n`),
  }).catch((err: unknown) => {
    // Not started (a port in use, a locked data directory): signals act as usual again.
    process.off("SIGINT", on);
    process.off("SIGTERM", on);
    throw err;
  });
  if (!signalled) {
    process.stderr.write(`solo: the operator's admin token is in ${server.adminTokenPath} (mode 0600); client certificates in ${server.tls.dir}\n`);
    process.stderr.write(`solo: gRPC on ${server.grpc}, HTTP on ${server.http}${server.metrics ? `, metrics on ${server.metrics}/metrics` : ""}, data in ${server.dataDir}; Ctrl-C to stop\n`);
    process.stdout.write(server.readyLine() + "\n");
  }
  const signal = await stop;
  process.stderr.write(`solo: ${signal}: closing (requests in flight finish first; a second signal stops at once)\n`);
  const again = () => {
    process.stderr.write("solo: second signal: stopping now\n");
    void server.host.destroy().finally(() => process.exit(EXIT.failed));
  };
  process.once("SIGINT", again);
  process.once("SIGTERM", again);
  await server.close();
  process.stderr.write("solo: closed\n");
  return EXIT.ok;
}
