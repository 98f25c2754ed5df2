// Bytes that are not a solo.v1 message, sent straight to the gRPC methods: each answer is a Solo
// error with its trailer (INVALID_ARGUMENT for what does not decode), never INTERNAL, and the
// server goes on serving.
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { randomBytes } from "node:crypto";
import { GrpcClient } from "../../host/client/index.ts";
import { ERROR_TRAILER } from "../../host/api/grpc-wire.ts";
import { test } from "../helpers.ts";
import { openServer } from "./server.ts";

test("300 random-byte requests: no INTERNAL, every error carries the Solo error; the server still serves", async () => {
  const ts = await openServer();
  const raw = new grpc.Client(ts.server.grpc, grpc.credentials.createSsl(Buffer.from(ts.ca), Buffer.from(ts.key), Buffer.from(ts.cert)));
  try {
    const md = new grpc.Metadata();
    md.set("authorization", `Bearer ${ts.adminToken}`);
    const codes: Record<string, number> = {};
    let withoutTrailer = 0;
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        new Promise<void>((done) => {
          const method = ["List", "Deploy", "SetQuotas", "Grant", "Call"][i % 5];
          const call = raw.makeUnaryRequest(`/solo.v1.Solo/${method}`, (b: Buffer) => b, (b: Buffer) => b, randomBytes(1 + (i % 200)), md, (err) => {
            const k = err ? grpc.status[err.code]! : "OK";
            codes[k] = (codes[k] ?? 0) + 1;
            if (err && !(err.metadata?.get(ERROR_TRAILER)?.length)) withoutTrailer++;
            done();
          });
          void call;
        }),
      ),
    );
    assert.is(codes.INTERNAL, undefined, JSON.stringify(codes));
    assert.ok((codes.INVALID_ARGUMENT ?? 0) > 0, JSON.stringify(codes));
    assert.is(withoutTrailer, 0, "every error carries its SoloError");
    const c = await GrpcClient.connect({ address: ts.server.grpc, ca: ts.ca, cert: ts.cert, key: ts.key, token: ts.adminToken });
    assert.equal(await c.list("anyone"), []);
    await c.close();
  } finally {
    raw.close();
    await ts.close();
  }
});

test.run();
