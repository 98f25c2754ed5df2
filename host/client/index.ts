// Solo's network clients: each implements SoloClient over one transport.
export type { DeployParams, EventsParams, EventStream, LogsParams, LogStream, SoloClient } from "./types.ts";
export { GrpcClient, type GrpcConnectOptions } from "./grpc-client.ts";
