// `solo start` as one server: the host, gRPC over mutual TLS, and HTTPS + WebSocket on a second
// port. First start makes the certificates (<dataDir>/tls/) and the operator's admin token
// (<dataDir>/admin.token). close() stops taking requests, lets those in flight finish (up to
// limits.drainMs), then closes the listeners and the host.
import { Host, type HostOptions } from "../host.ts";
import { ensureAdminToken } from "../session/index.ts";
import { ensureCertificates, type TlsFiles } from "./certs.ts";
import { DEFAULT_EDGE_LIMITS, type EdgeLimits } from "./edge-limits.ts";
import { startGrpc } from "./grpc-server.ts";
import { startHttp } from "./http-server.ts";
import { startMetricsListener } from "./metrics-listener.ts";

export interface ServerOptions extends HostOptions {
  /** HOST:PORT for gRPC; port 0 picks a free one. Default 127.0.0.1:50051. */
  grpc?: string;
  /** HOST:PORT for HTTPS and WebSocket; port 0 picks a free one. Default 127.0.0.1:8443. */
  http?: string;
  /** Plain HTTP instead of HTTPS on the second port: loopback addresses only. */
  insecureHttp?: boolean;
  /** A plain-HTTP port on 127.0.0.1 serving GET /metrics without a token, for local scrapers; 0 picks a free one. Default: none. */
  metricsPort?: number;
  limits?: Partial<EdgeLimits>;
}

/** What both listeners are given: the host, the TLS files, the edge limits. */
export interface ListenerOptions {
  host: Host;
  address: string;
  tls: TlsFiles;
  limits: EdgeLimits;
}

export interface Listener {
  /** Where it listens, as a client would dial it (HOST:PORT for gRPC, a URL for HTTP). */
  address: string;
  /** Stops accepting, lets requests in flight finish for up to graceMs, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

export interface Server {
  host: Host;
  grpc: string;
  http: string;
  /** The scrapers' URL base (http://127.0.0.1:PORT) when metricsPort was given. */
  metrics?: string;
  dataDir: string;
  tls: TlsFiles;
  adminTokenPath: string;
  /** The line `solo start` prints once both listeners are up. */
  readyLine(): string;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<Server> {
  const limits = { ...DEFAULT_EDGE_LIMITS, ...options.limits };
  const host = await Host.open(options);
  const opened: Listener[] = [];
  try {
    const tls = await ensureCertificates(host.dataDir);
    const admin = await ensureAdminToken(host);
    const grpc = await startGrpc({ host, address: options.grpc ?? "127.0.0.1:50051", tls, limits });
    opened.push(grpc);
    const http = await startHttp({ host, address: options.http ?? "127.0.0.1:8443", tls, limits, insecure: options.insecureHttp === true });
    opened.push(http);
    const metrics = options.metricsPort === undefined ? undefined : await startMetricsListener(host, `127.0.0.1:${options.metricsPort}`);
    if (metrics) opened.push(metrics);
    let closing: Promise<void> | undefined;
    return {
      host,
      grpc: grpc.address,
      http: http.address,
      ...(metrics && { metrics: metrics.address }),
      dataDir: host.dataDir,
      tls,
      adminTokenPath: admin.path,
      readyLine: () => JSON.stringify({ ready: true, grpc: grpc.address, http: http.address, ...(metrics && { metrics: metrics.address }), dataDir: host.dataDir }),
      close() {
        closing ??= (async () => {
          await Promise.all(opened.map((l) => l.close(limits.drainMs).catch(() => {})));
          await host.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await Promise.all(opened.map((l) => l.close(0).catch(() => {})));
    await host.close();
    throw err;
  }
}
