// The TypeScript type check runs in the builder under buildTimeoutMs like the compile. A few
// hundred characters of types can keep the checker busy for minutes; the failure must say the
// type check was stopped, not blame top-level code (a deploy) or metering (a validate).
import * as assert from "uvu/assert";
import { openHost, rejects, test } from "../helpers.ts";

// Each alias makes the checker build tuples nested 999 deep (~30 s each on a loaded machine;
// many times the limit on any machine).
const SLOW_TYPES = `type Build<N extends number, A extends unknown[] = []> = A["length"] extends N ? A : Build<N, [...A, A]>;
${Array.from({ length: 8 }, (_, i) => `type X${i} = Build<999, [${i}]>;\nexport const x${i}: X${i} | null = null;`).join("\n")}
export function handle(request: string): string {
  return request;
}
`;

const BUILD_TIMEOUT_MS = 5_000;

test("a deploy and a validate stopped in the type check say it was the type check", async () => {
  const t = await openHost({ buildTimeoutMs: BUILD_TIMEOUT_MS });
  try {
    const e = await rejects(t.host.deploy({ tenant: "t", service: "slow", source: SLOW_TYPES, language: "typescript", file: "slow.ts" }), "COMPILE_ERROR");
    assert.is(e.details?.limit, "buildTimeoutMs");
    assert.match(e.message, /^the TypeScript type check ran past 5 s \(buildTimeoutMs\) on this source; simplify its types/);
    assert.is((e.details?.diagnostics as { file: string }[])[0]!.file, "slow.ts");

    const v = await rejects(t.host.validate({ source: SLOW_TYPES, language: "typescript", file: "slow.ts" }), "COMPILE_ERROR");
    assert.match(v.message, /^the TypeScript type check ran past 5 s/);
    assert.equal(t.host.list("t"), []);
  } finally {
    await t.close();
  }
});

test.run();
