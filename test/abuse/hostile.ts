// What the abuse corpus shares: hostile modules from WebAssembly text (every proposal the `wabt`
// package knows, so attacks can use features Solo refuses), hand-made components around them, and
// a host with one worker where a well-behaved tenant must keep answering while an attack runs.
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import wabtInit from "wabt";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { sections, concat, encodeU32 } from "../../host/wasm/binary.ts";
import type { ErrorCode, Host, HostOptions } from "../../host/index.ts";
import { SOLO_ECHO } from "../fuzz/seeds.ts";
import { openHost, rejects, ROOT, type TestHost } from "../helpers.ts";

const FEATURES = { exceptions: true, threads: true, multi_memory: true, memory64: true, tail_call: true, extended_const: true, bulk_memory: true, reference_types: true, simd: true, mutable_globals: true, sat_float_to_int: true, sign_extension: true, multi_value: true };

let wabt: Awaited<ReturnType<typeof wabtInit>> | undefined;

/** WebAssembly text -> binary, unvalidated (an attack may be an invalid module). */
export async function wasm(text: string): Promise<Uint8Array> {
  wabt ??= await wabtInit();
  const m = wabt.parseWat("hostile.wat", text, FEATURES);
  try {
    return m.toBinary({}).buffer;
  } finally {
    m.destroy();
  }
}

/** A UTF-8 echo in core wasm (bump allocator, return area at 16): the well-behaved guest. */
export const ECHO = SOLO_ECHO;

/** The exports every hostile component module needs besides its attack (UTF-8, bump allocator). */
export const ABI = `
  (global $next (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get 3)))
    (local.get $p))`;

let template: Uint8Array | undefined;

/**
 * A component for the solo world around any core module: jco builds one around the echo, and the
 * core module's section is swapped for the hostile one, as an attacker with a hex editor would.
 */
export async function component(core: Uint8Array | string): Promise<Uint8Array> {
  const module = typeof core === "string" ? await wasm(core) : core;
  if (!template) {
    const wit = readFileSync(join(ROOT, "wit", "solo.wit"), "utf8");
    template = await componentNew(await componentEmbed({ binary: await wasm(ECHO), witSource: wit, world: "service", stringEncoding: "utf8" }));
  }
  const out: ArrayLike<number>[] = [template.subarray(0, 8)];
  let swapped = false;
  for (const s of sections(template)) {
    if (s.id === 1 && !swapped) {
      out.push([1, ...encodeU32(module.length)], module);
      swapped = true;
    } else out.push(template.subarray(s.headerStart, s.end));
  }
  return concat(out);
}

export interface Arena extends TestHost {
  /** The well-behaved tenant answers an echo correctly (asserts it). */
  good(): Promise<void>;
}

/** A host with ONE worker, so every tenant shares the thread an attack runs on. */
export async function arena(options: Partial<HostOptions> = {}): Promise<Arena> {
  const t = await openHost({ workers: 1, ...options });
  await t.host.deploy({ tenant: "good", service: "echo", source: await component(ECHO), language: "component" });
  let n = 0;
  return {
    ...t,
    async good() {
      const msg = `hello ${n++} ünïcødé`;
      // A well-behaved client honours load shedding: while an attack holds the one worker, its
      // calls pile up, admission may refuse some with UNAVAILABLE (reason "overloaded") and a
      // retry hint, and the client retries after it. Any other failure fails the test.
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await t.host.call("good", "echo", msg);
          assert.is(r.output, msg, "the well-behaved tenant answers correctly");
          return;
        } catch (err) {
          const e = err as { code?: string; details?: { reason?: string; retryAfterMs?: number } };
          if (e.code !== "UNAVAILABLE" || e.details?.reason !== "overloaded" || attempt === 100) throw err;
          await new Promise((r) => setTimeout(r, e.details?.retryAfterMs ?? 5));
        }
      }
    },
  };
}

/**
 * Runs an attack that must fail with `code` within `boundMs` (a bound for hangs, generous for a
 * loaded CI machine), while the well-behaved tenant is called during it and once after it.
 */
export async function attack(a: Arena, what: (host: Host) => Promise<unknown>, code: ErrorCode, boundMs = 30_000) {
  const started = performance.now();
  const during: Promise<void>[] = [];
  const attempt = rejects(what(a.host), code);
  const ticker = setInterval(() => during.push(a.good()), 20);
  let e;
  try {
    e = await attempt;
  } finally {
    clearInterval(ticker);
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < boundMs, `${code} took ${Math.round(elapsed)} ms; the bound is ${boundMs}`);
  during.push(a.good());
  await Promise.all(during);
  return e;
}

/**
 * A WASI command module (language "javy") assembled byte by byte, for bodies too large for the
 * text parser: one function `_start` with `code` as its instructions (its final `end` added).
 */
export function rawCommand(code: Uint8Array): Uint8Array {
  const section = (id: number, body: ArrayLike<number>[]) => {
    const content = concat(body);
    return concat([[id, ...encodeU32(content.length)], content]);
  };
  const name = (s: string) => [s.length, ...Buffer.from(s)];
  const body = concat([[0], code, [0x0b]]);
  return concat([
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, [[1, 0x60, 0, 0]]),
    section(3, [[1, 0]]),
    section(5, [[1, 0x00, 1]]),
    section(7, [[2, ...name("_start"), 0, 0, ...name("memory"), 2, 0]]),
    section(10, [[1, ...encodeU32(body.length)], body]),
  ]);
}
