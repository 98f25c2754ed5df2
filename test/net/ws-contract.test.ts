// The API contract over WebSocket (wss, the admin client certificate, the token at the upgrade).
import { WsClient, wsUrl } from "../../host/client/ws-client.ts";
import { runContract } from "./contract.ts";

runContract("WebSocket", (ts, token) => WsClient.connect({ url: wsUrl(ts.server.http), ca: ts.ca, cert: ts.cert, key: ts.key, token }));
