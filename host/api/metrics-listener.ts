// The scrapers' port (`solo start --metrics-port N`, off by default): plain HTTP on a loopback
// address, GET /metrics without a token. Loopback only, so what reaches it is already on this
// machine (a local Prometheus or agent); anything farther scrapes GET /metrics on the HTTPS port
// with a token. It answers nothing else, and holds few sockets: a scraper needs one.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { SoloError, toSoloError } from "../errors.ts";
import type { Host } from "../host.ts";
import { STATUS } from "./error-mapping.ts";
import { isLoopback, splitAddress } from "./http-server.ts";
import type { Listener } from "./server.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../telemetry/index.ts";

const MAX_CONNECTIONS = 16;

export async function startMetricsListener(host: Host, address: string): Promise<Listener> {
  const { host: bindHost, port } = splitAddress(address);
  if (!isLoopback(bindHost)) throw new SoloError("INVALID_ARGUMENT", `the metrics port listens on a loopback address only (127.0.0.1, ::1, localhost), not ${bindHost}; scrape GET /metrics on the HTTPS port with a token from farther away`, { field: "metrics" });
  const answer = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
    res.end(body);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void (async () => {
      try {
        const path = new URL(req.url ?? "/", "http://x").pathname;
        if (path !== "/metrics") throw new SoloError("NOT_FOUND", `only GET /metrics is served on this port, not ${path.slice(0, 100)}`);
        if (req.method !== "GET") throw new SoloError("INVALID_ARGUMENT", "use GET /metrics");
        answer(res, 200, PROMETHEUS_CONTENT_TYPE, await host.metrics());
      } catch (err) {
        const e = toSoloError(err);
        if (!res.headersSent) answer(res, STATUS[e.code].http, "application/json", JSON.stringify({ error: e.toJSON() }));
      }
    })();
  };
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000 }, handler);
  server.maxConnections = MAX_CONNECTIONS;
  server.keepAliveTimeout = 30_000;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new SoloError("UNAVAILABLE", `cannot listen on ${address} for metrics: ${err.code ?? err.message}; pick another --metrics-port`, { field: "metrics" }));
    server.once("error", onError);
    server.listen(port, bindHost, () => {
      server.off("error", onError);
      resolve();
    });
  });
  const bound = server.address();
  const shown = bindHost.includes(":") ? `[${bindHost}]` : bindHost;
  let closed: Promise<void> | undefined;
  return {
    address: `http://${shown}:${bound && typeof bound === "object" ? bound.port : port}`,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}
