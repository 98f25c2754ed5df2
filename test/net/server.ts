// A real `solo start` server in-process for tests: the host on a temp directory, gRPC and HTTPS
// on port 0, certificates and the admin token made as on a first start.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type Server, type ServerOptions } from "../../host/api/server.ts";
import { TEST_CACHE } from "../helpers.ts";

export interface TestServer {
  server: Server;
  dataDir: string;
  /** The operator's admin token (from <dataDir>/admin.token). */
  adminToken: string;
  /** PEM texts a client needs: the CA, and the admin client certificate and key. */
  ca: string;
  cert: string;
  key: string;
  close(): Promise<void>;
}

export async function openServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-net-"));
  const server = await startServer({ dataDir, cacheDir: TEST_CACHE, workers: 1, grpc: "127.0.0.1:0", http: "127.0.0.1:0", ...options });
  return {
    server,
    dataDir,
    adminToken: readFileSync(server.adminTokenPath, "utf8").trim(),
    ca: readFileSync(server.tls.ca, "utf8"),
    cert: readFileSync(server.tls.admin, "utf8"),
    key: readFileSync(server.tls.adminKey, "utf8"),
    async close() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
