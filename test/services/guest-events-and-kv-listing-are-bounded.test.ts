// events.emit records guest_event events in the tenant's stream, bounded in size and rate; kv.keys
// answers at most kvKeysPerCall keys; per-key and per-value sizes are tenant quotas too.
import * as assert from "uvu/assert";
import { openHost, rejects, test, type TestHost } from "../helpers.ts";
import { NODE, eventsOf } from "./guests.ts";

let t: TestHost;
const deploy = (tenant: string, service: string, capabilities: string[]) =>
  t.host.deploy({ tenant, service, source: NODE, language: "assemblyscript", capabilities: ["kv", ...capabilities] });
const ask = async (tenant: string, service: string, request: string) => (await t.host.call(tenant, service, request)).output;

test.before(async () => {
  t = await openHost();
});
test.after(async () => {
  await t.close();
});

test("a guest's emits appear in its tenant's stream with service, kind and data, a callee's under the callee", async () => {
  await deploy("e1", "e", ["emit"]);
  await deploy("e1", "caller", ["call:e"]);
  assert.is(await ask("e1", "e", "emit:3"), "refused 0");
  assert.is(await ask("e1", "caller", "call:e:emit:2"), "refused 0");
  const events = await eventsOf(t.host, "e1", "guest_event");
  assert.equal(events.map((e) => [e.tenant, e.service, e.data.kind, e.data.data]), [
    ["e1", "e", "tick", '{"i":0}'], ["e1", "e", "tick", '{"i":1}'], ["e1", "e", "tick", '{"i":2}'],
    ["e1", "e", "tick", '{"i":0}'], ["e1", "e", "tick", '{"i":1}'],
  ]);
  assert.is(events[0]!.actor, "local");
  assert.equal(await eventsOf(t.host, "e2", "guest_event"), [], "another tenant's stream has none of them");
});

test("data over 4 KiB is limit-exceeded, 4 KiB is kept whole, a malformed kind is invalid", async () => {
  await deploy("e3", "e", ["emit"]);
  assert.is(await ask("e3", "e", "emitbig:4097"), "limit-exceeded: event data is over 4096 bytes of UTF-8 (at least 4097); emit less, or keep the bulk in kv and emit its key");
  assert.is(await ask("e3", "e", "emitbig:4096"), "emitted");
  assert.match(await ask("e3", "e", "emitkind:Not A Kind"), /^invalid: event kind "Not A Kind" is malformed/);
  const events = await eventsOf(t.host, "e3", "guest_event");
  assert.is(events.length, 1);
  assert.is((events[0]!.data.data as string).length, 4096, "not clipped like host events' strings");
});

test("a failed call's emits are not recorded, like its kv writes", async () => {
  await deploy("e4", "e", ["emit"]);
  const e = await rejects(t.host.call("e4", "e", "emitfail"), "GUEST_ERROR");
  assert.is(e.message, "failed after emitting");
  assert.equal(await eventsOf(t.host, "e4", "guest_event"), []);
});

test("a guest emitting in a loop writes a bounded number of events and one summary of the rest", async () => {
  await deploy("e5", "e", ["emit"]);
  assert.is(await ask("e5", "e", "emit:1000"), "refused 900 limit-exceeded: this service emits too fast: at most 100 events per call and per burst, then 50 a second; emit fewer (batch them into one event's data)");
  assert.is((await eventsOf(t.host, "e5", "guest_event")).length, 100);
  const first = await eventsOf(t.host, "e5", "resource_violation");
  assert.is(first.length, 1, "one summary, not one event per refusal");
  assert.equal([first[0]!.service, first[0]!.data.code, first[0]!.data.limit, first[0]!.data.dropped], ["e", "RESOURCE_EXHAUSTED", "emit", 900]);
  // The budget is spent: the next call gets what refilled since (at most 100 a call) and at most
  // one more summary, whenever it runs.
  const refused = Number(/^refused (\d+) /.exec(await ask("e5", "e", "emit:1000"))![1]);
  assert.ok(refused >= 900, `refused ${refused}`);
  assert.is((await eventsOf(t.host, "e5", "guest_event")).length, 100 + 1000 - refused);
  assert.ok((await eventsOf(t.host, "e5", "resource_violation")).length <= 2);
});

test("kv.keys over 1000 keys is limit-exceeded telling the guest to use a longer prefix; 1000 answer", async () => {
  await deploy("k1", "k", []);
  assert.is(await ask("k1", "k", "fill:1001"), "filled 1001");
  assert.is(await ask("k1", "k", "keys:"), `limit-exceeded: 1001 keys start with ""; kv.keys answers at most 1000 (the tenant's kvKeysPerCall quota); ask with a longer prefix to list fewer at a time`);
  assert.is(await ask("k1", "k", "keys:k00"), "1000");
  assert.is(await ask("k1", "k", "keys:k01"), "1");
});

test("an operator lowers one tenant's kvKeysPerCall, kvKeyBytes and kvValueBytes; its guests meet them, usage shows them", async () => {
  await deploy("k2", "k", []);
  await deploy("k3", "k", []);
  const q = await t.host.setQuotas("k2", { kvKeysPerCall: 10, kvKeyBytes: 8, kvValueBytes: 4 });
  assert.equal([q.kvKeysPerCall, q.kvKeyBytes, q.kvValueBytes], [10, 8, 4]);
  assert.is(await ask("k2", "k", "set:abcdefghi:v"), "invalid: kv key is 9 bytes of UTF-8; a key must be 1..8 bytes (tenant k2's kvKeyBytes quota)");
  assert.is(await ask("k2", "k", "set:key:12345"), "limit-exceeded: kv value is at least 5 bytes of UTF-8; the limit is 4 (tenant k2's kvValueBytes quota)");
  assert.is(await ask("k2", "k", "set:key:1234"), "set key");
  assert.is(await ask("k2", "k", "fill:10"), "filled 10");
  assert.match(await ask("k2", "k", "keys:"), /^limit-exceeded: 11 keys start with ""; kv.keys answers at most 10/);
  assert.is(await ask("k2", "k", "keys:k0"), "10");
  const u = t.host.usage("k2").quotas;
  assert.equal([u.kvKeysPerCall.limit, u.kvKeyBytes.limit, u.kvValueBytes.limit], [10, 8, 4]);
  // Another tenant keeps the defaults (its services' own limits decide).
  assert.is(await ask("k3", "k", "set:abcdefghi:12345"), "set abcdefghi");
  await rejects(t.host.setQuotas("k2", { kvKeysPerCall: 0 }), "INVALID_ARGUMENT");
});

test.run();
