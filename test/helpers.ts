// Shared test helpers: a real Host on a temp directory, guest sources, error assertions.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test as uvuTest } from "uvu";
import * as assert from "uvu/assert";
import { Host, SoloError, type ErrorCode, type HostOptions } from "../host/index.ts";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Compiled artifacts are shared by every test file of a run (content-addressed, so safe). */
export const TEST_CACHE = join(tmpdir(), "solo-test-artifacts");

let ran = false;
/**
 * uvu's `test`, except that a SoloError escaping a test is reported as `CODE: message {details}`
 * (uvu's reporter expects `err.details` to be a string and prints nothing for an object), and a
 * test declared after `test.run()` fails the file instead of silently never running.
 */
export const test = new Proxy(uvuTest, {
  get(target, prop, receiver) {
    if (prop !== "run") return Reflect.get(target, prop, receiver);
    return () => {
      ran = true;
      target.run();
    };
  },
  apply(target, thisArg, args: [string, (ctx: unknown) => unknown]) {
    const [name, fn] = args;
    if (ran) throw new Error(`test "${name}" is declared after test.run(): it would never run; move test.run() to the end of the file`);
    return Reflect.apply(target, thisArg, [name, async (ctx: unknown) => {
      try {
        await fn(ctx);
      } catch (err) {
        if (err instanceof SoloError) throw new Error(`${err.code}: ${err.message}${err.details ? ` ${JSON.stringify(err.details)}` : ""}`);
        throw err;
      }
    }]);
  },
});

export interface TestHost {
  host: Host;
  dataDir: string;
  close(): Promise<void>;
}

export async function openHost(options: Partial<HostOptions> = {}): Promise<TestHost> {
  const dataDir = mkdtempSync(join(tmpdir(), "solo-test-"));
  const host = await Host.open({ dataDir, cacheDir: TEST_CACHE, workers: 2, ...options });
  return {
    host,
    dataDir,
    async close() {
      await host.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function example(name: string): string {
  return readFileSync(join(ROOT, "examples", name), "utf8");
}

export function fixture(name: string): string {
  return readFileSync(join(ROOT, "test", "fixtures", name), "utf8");
}

/** Awaits a promise that must reject with a SoloError of `code`; returns the error. */
export async function rejects(promise: Promise<unknown>, code: ErrorCode): Promise<SoloError> {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, SoloError, `expected a SoloError, got ${String(err)}`);
    const e = err as SoloError;
    assert.is(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new assert.Assertion({ message: `expected ${code}, but it succeeded`, operator: "rejects", generated: false, expects: code, actual: "success" });
}

/** Same as rejects, for a function that throws synchronously. */
export function throwsCode(fn: () => unknown, code: ErrorCode): SoloError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, SoloError);
    assert.is((err as SoloError).code, code, (err as Error).message);
    return err as SoloError;
  }
  throw new assert.Assertion({ message: `expected ${code}, but it succeeded`, operator: "throws", generated: false, expects: code, actual: "success" });
}
