// The registry's metadata (description, tags) and discover(): filtered by name and tag, and for a
// session by what its token may call; other tenants' services never show. Also over the API.
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Host, type ServiceInfo } from "../../host/index.ts";
import { GrpcClient } from "../../host/client/index.ts";
import { WsClient } from "../../host/client/ws-client.ts";
import { TEST_CACHE, rejects, test } from "../helpers.ts";
import { openServer } from "../net/server.ts";
import { NODE } from "./guests.ts";

const names = (list: ServiceInfo[]) => list.map((s) => s.service);

test("discover filters by tag and by a narrowed token; other tenants' services and uncallable ones never show; metadata survives a restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-discover-"));
  let host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
  try {
    const d = await host.deploy({ tenant: "shop", service: "billing", source: NODE, language: "assemblyscript", description: "charges cards", tags: ["payments", "core", "payments"] });
    assert.equal([d.description, d.tags], ["charges cards", ["core", "payments"]], "tags sorted and de-duplicated");
    await host.deploy({ tenant: "shop", service: "search", source: NODE, language: "assemblyscript", tags: ["core"] });
    await host.deploy({ tenant: "shop", service: "plain", source: NODE, language: "assemblyscript" });
    await host.deploy({ tenant: "other", service: "billing", source: NODE, language: "assemblyscript", tags: ["payments"] });

    assert.equal(host.discover({ tenant: "shop" }), [
      { tenant: "shop", service: "billing", version: 1, language: "assemblyscript", capabilities: ["clock", "kv", "log", "random"], description: "charges cards", tags: ["core", "payments"], state: "running" },
      { tenant: "shop", service: "plain", version: 1, language: "assemblyscript", capabilities: ["clock", "kv", "log", "random"], description: "", tags: [], state: "running" },
      { tenant: "shop", service: "search", version: 1, language: "assemblyscript", capabilities: ["clock", "kv", "log", "random"], description: "", tags: ["core"], state: "running" },
    ]);
    assert.equal(names(host.discover({ tenant: "shop", tag: "core" })), ["billing", "search"]);
    assert.equal(names(host.discover({ tenant: "shop", tag: "payments" })), ["billing"]);
    assert.equal(names(host.discover({ tenant: "shop", name: "search" })), ["search"]);
    assert.equal(host.discover({ tenant: "shop", tag: "nothing-has-it" }), []);
    const st = host.status("shop", "billing");
    assert.equal([st.description, st.tags], ["charges cards", ["core", "payments"]]);

    // A token that may call billing only finds billing, whatever it asks for.
    const narrow = await host.grant({ tenant: "shop", permissions: ["call"], services: ["billing"], ttlMs: 60_000 });
    const s = host.session(narrow.token);
    assert.equal(names(await s.discover({ tenant: "shop" })), ["billing"]);
    assert.equal(names(await s.discover({ tenant: "shop", tag: "core" })), ["billing"]);
    assert.equal(await s.discover({ tenant: "shop", name: "search" }), [], "a service it may not call is as if it did not exist");
    const wide = await host.grant({ tenant: "shop", permissions: ["call", "read"], ttlMs: 60_000 });
    assert.equal(names(await host.session(wide.token).discover({ tenant: "shop", tag: "core" })), ["billing", "search"]);
    // No call permission, or another tenant: refused, nothing listed.
    const reader = await host.grant({ tenant: "shop", permissions: ["read"], ttlMs: 60_000 });
    const e1 = await rejects(host.session(reader.token).discover({ tenant: "shop" }), "PERMISSION_DENIED");
    assert.is(e1.details?.missing, "permission");
    const e2 = await rejects(s.discover({ tenant: "other" }), "PERMISSION_DENIED");
    assert.is(e2.details?.missing, "tenant");

    // Bad metadata fails the deploy, and nothing is deployed.
    const bad = await rejects(host.deploy({ tenant: "shop", service: "x", source: NODE, language: "assemblyscript", tags: ["Not A Tag"] }), "INVALID_ARGUMENT");
    assert.is(bad.details?.field, "tags");
    const long = await rejects(host.deploy({ tenant: "shop", service: "x", source: NODE, language: "assemblyscript", description: "d".repeat(501) }), "INVALID_ARGUMENT");
    assert.is(long.details?.field, "description");
    await rejects(host.deploy({ tenant: "shop", service: "x", source: NODE, language: "assemblyscript", tags: Array.from({ length: 17 }, (_, i) => `t${i}`) }), "INVALID_ARGUMENT");
    assert.throws(() => host.discover({ tenant: "shop", tag: "Bad Tag" }), (err: Error & { code?: string; details?: { field?: string } }) => err.code === "INVALID_ARGUMENT" && err.details?.field === "tag");
    assert.equal(names(host.discover({ tenant: "shop" })), ["billing", "plain", "search"]);

    await host.close();
    host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 1 });
    assert.equal(names(host.discover({ tenant: "shop", tag: "payments" })), ["billing"]);
    assert.is(host.status("shop", "billing").description, "charges cards");
  } finally {
    await host.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("Discover over gRPC and WebSocket answers what the session answers; deploy takes description and tags", async () => {
  const t = await openServer();
  let c: GrpcClient | undefined;
  let w: WsClient | undefined;
  try {
    c = await GrpcClient.connect({ address: t.server.grpc, ca: t.ca, cert: t.cert, key: t.key, token: t.adminToken });
    w = await WsClient.connect({ url: t.server.http, ca: t.ca, token: t.adminToken });
    const d = await c.deploy({ tenant: "net", service: "billing", source: NODE, language: "assemblyscript", description: "charges cards", tags: ["payments"] });
    assert.equal([d.description, d.tags], ["charges cards", ["payments"]]);
    await w.deploy({ tenant: "net", service: "search", source: NODE, language: "assemblyscript", tags: ["core"] });
    const grant = await c.grant({ tenant: "net", permissions: ["call"], services: ["search"], ttlMs: 60_000 });
    const narrow = await GrpcClient.connect({ address: t.server.grpc, ca: t.ca, cert: t.cert, key: t.key, token: grant.token });
    try {
      const all = await c.discover({ tenant: "net" });
      assert.equal(all, t.server.host.discover({ tenant: "net" }), "field for field what the host answers");
      assert.equal(await w.discover({ tenant: "net", tag: "payments" }), t.server.host.discover({ tenant: "net", tag: "payments" }));
      assert.equal(names(await narrow.discover({ tenant: "net" })), ["search"]);
      assert.equal(await narrow.discover({ tenant: "net", tag: "payments" }), []);
      const e = await rejects(narrow.discover({ tenant: "elsewhere" }), "PERMISSION_DENIED");
      assert.is(e.details?.missing, "tenant");
      assert.equal((await c.status("net", "billing")).tags, ["payments"]);
    } finally {
      await narrow.close();
    }
  } finally {
    await w?.close();
    await c?.close();
    await t.close();
  }
});

test.run();
