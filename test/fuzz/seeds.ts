// The real artifacts fuzzing starts from: small hand-written modules (WebAssembly text, via wabt)
// that touch what the meter rewrites (loops, br_table, call_indirect, memory.grow, bulk memory,
// a start function, passive data), wrapped into components with jco as a user would, plus a
// compiled AssemblyScript example. Building them costs ~0.5 s (wabt, jco) plus one asc compile
// (cached in the shared test artifact cache).
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readModuleInfo } from "../../host/wasm/index.ts";
import { ROOT } from "../helpers.ts";
import { compiled } from "./compiled.ts";
import { sectionSpans } from "./mutate.ts";
import { loadWabt, watToBinary } from "./wat.ts";

/** A core module of the solo:agent/service world (UTF-8 strings): answers the request it got. */
export const SOLO_ECHO = `(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 1024))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (global.get $next))
    (global.set $next (i32.add (global.get $next) (local.get 3)))
    (local.get $p))
  (func (export "handle") (param $ptr i32) (param $len i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $ptr))
    (i32.store (i32.const 24) (local.get $len))
    (i32.const 16))
)`;

/**
 * The same world, doing more of what metering rewrites: a start function, a table and
 * call_indirect, a loop dispatching through br_table, memory.grow in its allocator, memory.fill,
 * memory.copy and memory.init from a passive segment, and an import. Answers "<request>solo!".
 */
export const SOLO_BUSY = `(module
  (import "solo:agent/log@0.1.0" "log" (func $log (param i32 i32 i32)))
  (type $un (func (param i32) (result i32)))
  (memory (export "memory") 1 64)
  (table 4 funcref)
  (elem (i32.const 0) $double $inc $sq $double)
  (global $next (mut i32) (i32.const 2048))
  (global $calls (mut i32) (i32.const 7))
  (data (i32.const 16) "solo")
  (data $tail "!")
  (start $init)
  (func $init
    (global.set $calls (i32.const 0))
    (memory.fill (i32.const 512) (i32.const 0) (i32.const 64)))
  (func $double (type $un) (i32.shl (local.get 0) (i32.const 1)))
  (func $inc (type $un) (i32.add (local.get 0) (i32.const 1)))
  (func $sq (type $un) (i32.mul (local.get 0) (local.get 0)))
  (func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32) (local $have i32)
    (local.set $p (i32.and
      (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get 2))))
    (global.set $next (i32.add (local.get $p) (local.get 3)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (global.get $next) (local.get $have))
      (then
        (if (i32.eq (i32.const -1)
              (memory.grow (i32.add (i32.shr_u (i32.sub (global.get $next) (local.get $have)) (i32.const 16)) (i32.const 1))))
          (then unreachable))))
    (local.get $p))
  (func (export "handle") (param $ptr i32) (param $len i32) (result i32) (local $i i32) (local $h i32) (local $out i32)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (block $c
          (block $b
            (block $a
              (br_table $a $b $c (i32.rem_u (i32.load8_u (i32.add (local.get $ptr) (local.get $i))) (i32.const 3))))
            (local.set $h (call_indirect (type $un) (local.get $h) (i32.const 0)))
            (br $c))
          (local.set $h (call_indirect (type $un) (local.get $h) (i32.const 1))))
        (local.set $h (i32.xor (local.get $h) (i32.load8_u (i32.add (local.get $ptr) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.set $out (call $realloc (i32.const 0) (i32.const 0) (i32.const 1) (i32.add (local.get $len) (i32.const 5))))
    (memory.copy (local.get $out) (local.get $ptr) (local.get $len))
    (memory.copy (i32.add (local.get $out) (local.get $len)) (i32.const 16) (i32.const 4))
    (memory.init $tail (i32.add (i32.add (local.get $out) (local.get $len)) (i32.const 4)) (i32.const 0) (i32.const 1))
    (call $log (i32.const 0) (i32.const 16) (i32.const 4))
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store8 (i32.const 32) (i32.const 0))
    (i32.store (i32.const 36) (local.get $out))
    (i32.store (i32.const 40) (i32.add (local.get $len) (i32.const 5)))
    (i32.const 32))
)`;

/** A WASI command in the shape of a Javy module: stdin -> "javy:" + stdin on stdout. */
export const WASI_ECHO = `(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1 16)
  (data (i32.const 0) "javy:")
  (global $seen (mut i32) (i32.const 0))
  (start $init)
  (func $init (global.set $seen (i32.const 1)))
  (func (export "_start") (local $total i32) (local $n i32)
    (block $done (loop $more
      (i32.store (i32.const 100) (i32.add (i32.const 1024) (local.get $total)))
      (i32.store (i32.const 104) (i32.const 4096))
      (drop (call $fd_read (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 200)))
      (local.set $n (i32.load (i32.const 200)))
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $total (i32.add (local.get $total) (local.get $n)))
      (br $more)))
    (if (i32.gt_u (local.get $total) (i32.const 3000))
      (then (drop (memory.grow (i32.const 1)))))
    (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 120)) ;; "x..." exits 2
      (then (call $proc_exit (i32.const 2))))
    (i32.store (i32.const 300) (i32.const 0)) (i32.store (i32.const 304) (i32.const 5))
    (i32.store (i32.const 308) (i32.const 1024)) (i32.store (i32.const 312) (local.get $total))
    (drop (call $fd_write (i32.const 1) (i32.const 300) (i32.const 2) (i32.const 200))))
)`;

export type SeedKind = "component" | "javy";

export interface Seed {
  name: string;
  /** How it is deployed: "component" bytes, or a raw "javy" WASI module. */
  kind: SeedKind;
  bytes: Uint8Array;
  /** For a component: its core module that exports "handle" and where its section body starts (mutants are spliced back in). */
  core?: { bytes: Uint8Array; offset: number };
}

/** The component's top-level core module exporting "handle" (the one Solo meters and runs). */
export function handleModule(component: Uint8Array): { bytes: Uint8Array; offset: number } {
  for (const s of sectionSpans(component)) {
    if (s.id !== 1) continue;
    const bytes = component.slice(s.start, s.end);
    try {
      if (readModuleInfo(bytes).exports.some((e) => e.name === "handle")) return { bytes, offset: s.start };
    } catch { /* not a module we can read: keep looking */ }
  }
  throw new Error("the component has no core module exporting handle");
}

const SOLO_WIT = readFileSync(join(ROOT, "wit", "solo.wit"), "utf8");

export async function wrapCore(core: Uint8Array, encoding: "utf8" | "utf16" = "utf8"): Promise<Uint8Array> {
  const embedded = await componentEmbed({ binary: core, witSource: SOLO_WIT, world: "service", stringEncoding: encoding });
  return componentNew(embedded);
}

/** Compiles an AssemblyScript example (cached in the shared test cache). */
export async function compiledExample(name: string): Promise<Uint8Array> {
  return compiled("assemblyscript", readFileSync(join(ROOT, "examples", name), "utf8"), name);
}

function component(name: string, bytes: Uint8Array): Seed {
  return { name, kind: "component", bytes, core: handleModule(bytes) };
}

export async function buildSeeds(options: { assemblyscript?: boolean } = {}): Promise<Seed[]> {
  await loadWabt();
  const echo = watToBinary(SOLO_ECHO);
  const busy = watToBinary(SOLO_BUSY);
  const seeds: Seed[] = [
    component("echo-component", await wrapCore(echo)),
    component("busy-component", await wrapCore(busy)),
    { name: "wasi-echo", kind: "javy", bytes: watToBinary(WASI_ECHO) },
  ];
  if (options.assemblyscript !== false) {
    const counter = await compiledExample("counter.as.ts");
    seeds.push(component("counter.as.ts", counter));
  }
  return seeds;
}
