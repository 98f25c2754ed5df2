// A Solo client over gRPC (mutual TLS): the SoloClient methods with the Host's argument and answer
// shapes. It trusts only the server certificate signed by `ca` and shows its own certificate; the
// token travels as `authorization: Bearer TOKEN` on every call. A failure is rebuilt as the
// SoloError the server threw (from the `solo-error-bin` trailer); a failure that never reached
// Solo (refused handshake, unreachable server, oversized message) gets the code nearest its
// gRPC status and a message saying what to check.
import * as grpc from "@grpc/grpc-js";
import { SoloError, type ErrorCode } from "../errors.ts";
import { ERROR_TRAILER, decodeErrorDetail, loadSoloProto, plain } from "../api/grpc-wire.ts";
import type { CallReply, DeployResult, ServiceInfo, ServiceStatus, SoloEvent, SwapResult, ValidationReport, VersionInfo } from "../index.ts";
import type { Granted, Permission } from "../capability/index.ts";
import type { TenantQuotas, TenantUsage } from "../governance/index.ts";
import type { AuditReport, AuditStatus } from "../audit/index.ts";
import type { RotationReport, SecretInfo } from "../vault/index.ts";
import type { DeployParams, EventStream, EventsParams, LogStream, LogsParams, SoloClient, SwapParams } from "./types.ts";
import type { LogLine } from "../logs/index.ts";

export interface GrpcConnectOptions {
  /** HOST:PORT, as `solo start` prints it. */
  address: string;
  /** PEM: the CA that signed the server's certificate (<dataDir>/tls/ca.pem). */
  ca: string;
  /** PEM: this client's certificate and key, signed by the same CA (a Solo server refuses a client without them). */
  cert?: string;
  key?: string;
  /** The capability token every call carries. */
  token: string;
}

/** gRPC status → SoloError code, for failures that carry no SoloError (they never reached Solo). */
const FROM_STATUS: Record<number, ErrorCode> = {
  [grpc.status.CANCELLED]: "UNAVAILABLE",
  [grpc.status.INVALID_ARGUMENT]: "INVALID_ARGUMENT",
  [grpc.status.DEADLINE_EXCEEDED]: "DEADLINE_EXCEEDED",
  [grpc.status.NOT_FOUND]: "NOT_FOUND",
  [grpc.status.ALREADY_EXISTS]: "ALREADY_EXISTS",
  [grpc.status.PERMISSION_DENIED]: "PERMISSION_DENIED",
  [grpc.status.RESOURCE_EXHAUSTED]: "RESOURCE_EXHAUSTED",
  [grpc.status.UNAUTHENTICATED]: "UNAUTHENTICATED",
  [grpc.status.UNAVAILABLE]: "UNAVAILABLE",
};

function fromGrpc(err: unknown, address: string): SoloError {
  const e = err as Partial<grpc.ServiceError>;
  const trailer = e.metadata?.get(ERROR_TRAILER)[0];
  if (Buffer.isBuffer(trailer)) {
    const solo = decodeErrorDetail(trailer);
    if (solo) return solo;
  }
  const status = typeof e.code === "number" ? e.code : grpc.status.UNKNOWN;
  const code = FROM_STATUS[status] ?? "INTERNAL";
  const said = e.details || e.message || "no details";
  const hint =
    status === grpc.status.UNAVAILABLE
      ? `; check that a Solo server listens at ${address}, that \`ca\` is its CA, and that this client's certificate is signed by that CA`
      : status === grpc.status.RESOURCE_EXHAUSTED
        ? "; the message is over the server's limit (maxMessageBytes): send less at once"
        : "";
  return new SoloError(code, `gRPC ${grpc.status[status] ?? status} from ${address}: ${said}${hint}`, { grpcStatus: status });
}

function toEvent(m: Record<string, unknown>): SoloEvent {
  const e: SoloEvent = { id: m.id as string, time: m.time as string, type: m.type as SoloEvent["type"], tenant: m.tenant as string, actor: m.actor as string, data: m.dataJson ? (JSON.parse(m.dataJson as string) as Record<string, unknown>) : {} };
  if (m.service) e.service = m.service as string;
  return e;
}

function toLogLine(m: Record<string, unknown>): LogLine {
  const l: LogLine = { tenant: m.tenant as string, service: m.service as string, level: m.level as LogLine["level"], message: m.message as string, at: m.at as string };
  if (m.dropped) l.dropped = m.dropped as number;
  return l;
}

function toStatus(m: unknown): ServiceStatus {
  const s = plain<ServiceStatus & { failure?: { code: ErrorCode; message: string; detailsJson?: string } }>(m);
  if (s.failure) s.failure = { code: s.failure.code, message: s.failure.message };
  return s;
}

/** As the host answers it: `damaged` only when true (proto3 sends false for every other). */
function toSecretInfo(m: unknown): SecretInfo {
  const s = plain<SecretInfo & { damaged?: boolean }>(m);
  if (!s.damaged) delete s.damaged;
  return s as SecretInfo;
}

function sourceFields(source: string | Uint8Array): Record<string, unknown> {
  return typeof source === "string" ? { text: source } : { binary: Buffer.from(source.buffer, source.byteOffset, source.byteLength) };
}

type Unary = (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall;

export class GrpcClient implements SoloClient {
  private readonly streams = new Set<grpc.ClientReadableStream<unknown>>();

  private constructor(
    private readonly stub: grpc.Client & Record<string, unknown>,
    private readonly address: string,
    private readonly token: string,
  ) {}

  /**
   * A client for the server at `address`. The connection is made at the first call (and again
   * after a break); a refused certificate shows there, as UNAVAILABLE.
   */
  static async connect(o: GrpcConnectOptions): Promise<GrpcClient> {
    if (!o || typeof o.address !== "string" || !o.address) throw new SoloError("INVALID_ARGUMENT", "address must be HOST:PORT of a Solo gRPC listener", { field: "address" });
    if (typeof o.ca !== "string" || !o.ca.includes("BEGIN CERTIFICATE")) throw new SoloError("INVALID_ARGUMENT", "ca must be the PEM text of the server's CA (<dataDir>/tls/ca.pem)", { field: "ca" });
    if ((o.cert === undefined) !== (o.key === undefined)) throw new SoloError("INVALID_ARGUMENT", "give both cert and key (PEM), or neither", { field: o.cert === undefined ? "cert" : "key" });
    const Ctor = (grpc.loadPackageDefinition(loadSoloProto(true)).solo as grpc.GrpcObject).v1 as grpc.GrpcObject;
    const Solo = Ctor.Solo as grpc.ServiceClientConstructor;
    const creds = grpc.credentials.createSsl(Buffer.from(o.ca), o.key ? Buffer.from(o.key) : null, o.cert ? Buffer.from(o.cert) : null);
    // The server bounds what it sends (maxMessageBytes); the client takes whatever it answers.
    const stub = new Solo(o.address, creds, { "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 });
    return new GrpcClient(stub as grpc.Client & Record<string, unknown>, o.address, o.token ?? "");
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.token) md.set("authorization", `Bearer ${this.token}`);
    return md;
  }

  private unary<T = Record<string, unknown>>(method: string, req: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      (this.stub[method] as Unary).call(this.stub, req, this.metadata(), (err, res) => (err ? reject(fromGrpc(err, this.address)) : resolve(res as T)));
    });
  }

  async deploy(p: DeployParams): Promise<DeployResult> {
    const r = await this.unary("Deploy", { tenant: p.tenant, service: p.service, language: p.language, file: p.file, ...sourceFields(p.source), limits: p.limits, compiler: p.compiler, capabilities: p.capabilities, description: p.description, tags: p.tags });
    return plain<DeployResult>(r);
  }

  async validate(p: { source: string | Uint8Array; language?: string; file?: string }): Promise<ValidationReport> {
    return plain<ValidationReport>(await this.unary("Validate", { language: p.language, file: p.file, ...sourceFields(p.source) }));
  }

  async call(tenant: string, service: string, request: string): Promise<CallReply> {
    return plain<CallReply>(await this.unary("Call", { tenant, service, request }));
  }

  async status(tenant: string, service: string): Promise<ServiceStatus> {
    return toStatus(await this.unary("Status", { tenant, service }));
  }

  async list(tenant: string): Promise<ServiceStatus[]> {
    const r = await this.unary<{ services?: unknown[] }>("List", { tenant });
    return (r.services ?? []).map(toStatus);
  }

  async kill(tenant: string, service: string): Promise<void> {
    await this.unary("Kill", { tenant, service });
  }

  async discover(p: { tenant: string; name?: string; tag?: string }): Promise<ServiceInfo[]> {
    const r = await this.unary<{ services?: unknown[] }>("Discover", { tenant: p.tenant, name: p.name, tag: p.tag });
    return (r.services ?? []).map((s) => plain<ServiceInfo>(s));
  }

  async audit(p: { full?: boolean } = {}): Promise<AuditReport> {
    const r = plain<{ status: AuditStatus; checkedAt: string; durationMs: number; components?: Record<string, { status: AuditStatus; summary: string; detailsJson?: string }> }>(await this.unary("Audit", { full: p.full === true }));
    const components = {} as AuditReport["components"];
    for (const [name, c] of Object.entries(r.components ?? {})) components[name as keyof AuditReport["components"]] = { status: c.status, summary: c.summary, details: c.detailsJson ? (JSON.parse(c.detailsJson) as Record<string, unknown>) : {} };
    return { status: r.status, checkedAt: r.checkedAt, durationMs: r.durationMs, components };
  }

  async usage(tenant: string): Promise<TenantUsage> {
    return plain<TenantUsage>(await this.unary("Usage", { tenant }));
  }

  async setQuotas(tenant: string, quotas: Partial<TenantQuotas>): Promise<TenantQuotas> {
    return plain<{ quotas: TenantQuotas }>(await this.unary("SetQuotas", { tenant, quotas })).quotas;
  }

  async grant(p: { tenant: string; permissions: Permission[]; services?: string[]; ttlMs: number; note?: string }): Promise<Granted> {
    return plain<Granted>(await this.unary("Grant", { tenant: p.tenant, permissions: p.permissions, services: p.services, ttlMs: p.ttlMs, note: p.note }));
  }

  async revoke(tokenOrId: string): Promise<{ id: string; revoked: number }> {
    return plain<{ id: string; revoked: number }>(await this.unary("Revoke", { tokenOrId }));
  }

  async attenuate(p: { token: string; permissions?: Permission[]; services?: string[]; expiresAt?: number }): Promise<{ token: string; id: string }> {
    return plain<{ token: string; id: string }>(await this.unary("Attenuate", { token: p.token, permissions: p.permissions, services: p.services, expiresAt: p.expiresAt }));
  }

  async putSecret(tenant: string, name: string, value: string): Promise<SecretInfo> {
    return toSecretInfo(await this.unary("PutSecret", { tenant, name, value }));
  }

  async secrets(tenant: string): Promise<SecretInfo[]> {
    const r = await this.unary<{ secrets?: unknown[] }>("ListSecrets", { tenant });
    return (r.secrets ?? []).map(toSecretInfo);
  }

  async removeSecret(tenant: string, name: string): Promise<SecretInfo> {
    return toSecretInfo(await this.unary("RemoveSecret", { tenant, name }));
  }

  async secret(tenant: string, name: string): Promise<string> {
    return (await this.unary<{ value: string }>("GetSecret", { tenant, name })).value;
  }

  async rotateSecrets(newKey?: string): Promise<RotationReport> {
    return plain<RotationReport>(await this.unary("RotateSecrets", { newKey }));
  }

  /** Opens the stream at once; iterate it (once) to read. close() cancels it on the server too. */
  events(p: EventsParams = {}): EventStream {
    return this.stream("Events", { tenant: p.tenant, service: p.service, type: p.type, after: p.after, follow: p.follow, limit: p.limit }, toEvent);
  }

  /** Like events(): opens at once, iterate once; close() cancels it on the server too. */
  logs(p: LogsParams): LogStream {
    return this.stream("Logs", { tenant: p.tenant, service: p.service, follow: p.follow, tail: p.tail }, toLogLine);
  }

  /** A server stream read as an async iterable of `fromWire(message)`; errors rebuilt as SoloErrors. */
  private stream<T>(method: "Events" | "Logs", req: Record<string, unknown>, fromWire: (m: Record<string, unknown>) => T): AsyncIterable<T> & { close(): void } {
    const call = (this.stub[method] as (req: unknown, md: grpc.Metadata) => grpc.ClientReadableStream<unknown>).call(this.stub, req, this.metadata());
    this.streams.add(call);
    let closed = false;
    // A stream the caller closed ends quietly; gRPC reports it as CANCELLED.
    call.on("error", () => {});
    const close = () => {
      if (closed) return;
      closed = true;
      this.streams.delete(call);
      call.cancel();
    };
    const address = this.address;
    async function* read(): AsyncGenerator<T> {
      try {
        // A Node stream: reading it one message at a time gives backpressure to the server.
        for await (const m of call as AsyncIterable<Record<string, unknown>>) yield fromWire(m);
      } catch (err) {
        if (!closed) throw fromGrpc(err, address);
      } finally {
        close();
      }
    }
    return { [Symbol.asyncIterator]: () => read(), close };
  }

  async swap(p: SwapParams): Promise<SwapResult> {
    const r = await this.unary("Swap", {
      tenant: p.tenant, service: p.service, language: p.language, file: p.file, ...sourceFields(p.source), limits: p.limits, compiler: p.compiler, capabilities: p.capabilities,
      rollbackWindowMs: p.rollbackWindowMs, maxFailureRate: p.maxFailureRate, health: p.health,
    });
    return plain<SwapResult>(r);
  }

  async rollback(tenant: string, service: string, version?: number): Promise<SwapResult> {
    return plain<SwapResult>(await this.unary("Rollback", { tenant, service, version }));
  }

  async versions(tenant: string, service: string): Promise<VersionInfo[]> {
    const r = await this.unary<{ versions?: unknown[] }>("Versions", { tenant, service });
    return (r.versions ?? []).map((v) => plain<VersionInfo>(v));
  }

  async replace(p: DeployParams): Promise<DeployResult> {
    const r = await this.unary("Replace", { tenant: p.tenant, service: p.service, language: p.language, file: p.file, ...sourceFields(p.source), limits: p.limits, compiler: p.compiler, capabilities: p.capabilities });
    return plain<DeployResult>(r);
  }


  async close(): Promise<void> {
    for (const s of [...this.streams]) s.cancel();
    this.streams.clear();
    this.stub.close();
  }
}
