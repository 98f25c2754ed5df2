// random.nextU64() is a u64 in both SDKs: a BigInt in TypeScript/JavaScript that keeps all 64
// bits (a Number would round every value from 2^53 up to an even one), a u64 in AssemblyScript.
import * as assert from "uvu/assert";
import { openHost, test } from "../helpers.ts";

const DRAWS = 64;
const TWO_53 = 2n ** 53n;
const TWO_63 = 2n ** 63n;
const TWO_64 = 2n ** 64n;

/** What 64 draws show when every one is an exact u64 (odds against each check: under 2^-60). */
function assertExactU64s(values: bigint[]) {
  assert.is(values.length, DRAWS);
  for (const v of values) assert.ok(v >= 0n && v < TWO_64, `${v} is a u64`);
  assert.ok(values.some((v) => v >= TWO_63), "the top bit is set in some draws");
  assert.ok(values.some((v) => v >= TWO_53 && v % 2n === 1n), "an odd value above 2^53: no rounding to a Number on the way");
  assert.ok(new Set(values).size > DRAWS - 2, "draws differ");
}

test("random.nextU64() in TypeScript is a BigInt with all 64 bits; monotonicNs() is a BigInt, as index.d.ts types them", async () => {
  const t = await openHost();
  try {
    const source = `import { random, clock } from "solo";
export function handle(request: string): string {
  const values: bigint[] = [];
  for (let i = 0; i < ${DRAWS}; i++) values.push(random.nextU64());
  const t0 = clock.monotonicNs();
  const t1 = clock.monotonicNs();
  return JSON.stringify({ types: values.map((v) => typeof v), values: values.map(String), clock: [typeof t0, String(t0), String(t1)], float: Math.random() });
}`;
    await t.host.deploy({ tenant: "a", service: "rnd", source, file: "rnd.ts" });
    const out = JSON.parse((await t.host.call("a", "rnd", "")).output) as { types: string[]; values: string[]; clock: string[]; float: number };
    assert.equal([...new Set(out.types)], ["bigint"]);
    assertExactU64s(out.values.map(BigInt));
    assert.is(out.clock[0], "bigint");
    assert.ok(BigInt(out.clock[2]!) >= BigInt(out.clock[1]!), "monotonic");
    assert.ok(out.float >= 0 && out.float < 1, `Math.random() is in [0, 1): ${out.float}`);
  } finally {
    await t.close();
  }
});

test("random.nextU64() in AssemblyScript is a u64 with all 64 bits", async () => {
  const t = await openHost();
  try {
    const source = `import { random } from "solo";
export function handle(request: string): string {
  let out = "";
  for (let i = 0; i < ${DRAWS}; i++) out += (i > 0 ? "," : "") + random.nextU64().toString();
  return out;
}`;
    await t.host.deploy({ tenant: "a", service: "rnd", source, file: "rnd.as.ts" });
    assertExactU64s((await t.host.call("a", "rnd", "")).output.split(",").map(BigInt));
  } finally {
    await t.close();
  }
});

test("without the random capability nextU64() reads 0n, as the docs say of a denied random", async () => {
  const t = await openHost();
  try {
    const source = `import { random } from "solo";
export function handle(request: string): string {
  const v = random.nextU64();
  return typeof v + " " + String(v);
}`;
    await t.host.deploy({ tenant: "a", service: "rnd", source, file: "rnd.ts", capabilities: ["log"] });
    assert.is((await t.host.call("a", "rnd", "")).output, "bigint 0");
  } finally {
    await t.close();
  }
});

test.run();
