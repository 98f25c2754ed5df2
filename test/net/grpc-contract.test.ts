// The API contract over gRPC (mutual TLS with the admin client certificate).
import { GrpcClient } from "../../host/client/index.ts";
import { runContract } from "./contract.ts";

runContract("gRPC", (ts, token) => GrpcClient.connect({ address: ts.server.grpc, ca: ts.ca, cert: ts.cert, key: ts.key, token }));
