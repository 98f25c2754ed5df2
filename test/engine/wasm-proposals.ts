// Which WebAssembly proposals this Node's V8 accepts with no flags: one tiny module per proposal,
// assembled with all assembler features on (so the engine alone decides), then validated.
// Run directly it prints a markdown row for docs/SECURITY.md ("## Engines"):
//   node --import ./bin/ts-register.mjs test/engine/wasm-proposals.ts
// A proposal the engine accepts is code a guest can send; the deploy-time checks must refuse
// whatever the meter does not understand, so this list is what they have to cover.
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";
import wabtInit from "wabt";

export interface Proposal {
  name: string;
  /** WebAssembly text, or raw bytes where no assembler has syntax for the proposal. */
  wat?: string;
  /** wabt 1.0.39 has no GC syntax and writes typed references in a pre-standard encoding. */
  binaryen?: true;
  bytes?: number[];
  /** For JS-API proposals: true if this engine has it. */
  check?: () => boolean;
}

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export const PROPOSALS: Proposal[] = [
  { name: "mutable-globals", wat: `(module (import "a" "g" (global (mut i32))))` },
  { name: "sign-extension", wat: `(module (func (param i32) (result i32) (i32.extend8_s (local.get 0))))` },
  { name: "sat-float-to-int", wat: `(module (func (param f32) (result i32) (i32.trunc_sat_f32_s (local.get 0))))` },
  { name: "multi-value", wat: `(module (func (result i32 i32) (i32.const 1) (i32.const 2)))` },
  { name: "bulk-memory", wat: `(module (memory 1) (func (memory.copy (i32.const 0) (i32.const 1) (i32.const 2))))` },
  { name: "reference-types", wat: `(module (table 1 externref) (table 1 funcref) (func (param externref) (table.set 0 (i32.const 0) (local.get 0))))` },
  { name: "simd", wat: `(module (func (result v128) (v128.const i32x4 0 0 0 0)))` },
  { name: "threads (shared memory, atomics)", wat: `(module (memory 1 1 shared) (func (result i32) (i32.atomic.load (i32.const 0))))` },
  { name: "extended-const", wat: `(module (global i32 (i32.add (i32.const 1) (i32.const 2))))` },
  { name: "tail-call", wat: `(module (func $f (return_call $f)))` },
  { name: "exception-handling (legacy try/catch)", wat: `(module (tag $t) (func (try (do (throw $t)) (catch $t))))` },
  {
    name: "exception-handling (exnref, try_table)",
    wat: `(module (tag $t) (func (drop (block $h (result exnref) (try_table (catch_all_ref $h) (throw $t)) (unreachable)))))`,
  },
  { name: "relaxed-simd", wat: `(module (func (param v128 v128 v128) (result v128) (i32x4.relaxed_laneselect (local.get 0) (local.get 1) (local.get 2))))` },
  { name: "multi-memory", wat: `(module (memory 1) (memory 1) (func (result i32) (i32.load 1 (i32.const 0))))` },
  { name: "memory64", wat: `(module (memory i64 1) (func (result i32) (i32.load (i64.const 0))))` },
  {
    name: "typed-function-references",
    wat: `(module (type $f (func)) (func $g (type $f)) (elem declare func $g) (func $h (call_ref $f (ref.func $g))) (export "h" (func $h)))`,
    binaryen: true,
  },
  {
    name: "gc (struct, array, i31)",
    wat: `(module (type $s (struct (field i32))) (func $h (result (ref $s)) (struct.new $s (i32.const 1))) (export "h" (func $h)))`,
    binaryen: true,
  },
  // (memory 1 (pagesize 1)): limits flag 0x08, min 1, page size 2^0. wabt has no syntax for it.
  { name: "custom-page-sizes", bytes: [...HEADER, 0x05, 0x04, 0x01, 0x08, 0x01, 0x00] },
  // JS string builtins: imports from "wasm:js-string" are supplied by the engine when asked.
  {
    name: "js-string-builtins",
    check: () => instantiates(`(module (import "wasm:js-string" "length" (func (param externref) (result i32))))`, { builtins: ["js-string"] }),
  },
  {
    name: "imported-string-constants",
    check: () => instantiates(`(module (import "'" "hi" (global externref)))`, { importedStringConstants: "'" }),
  },
  { name: "JSPI (WebAssembly.Suspending)", check: () => typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending === "function" },
];

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabtInstance: Wabt | undefined;

function assembleWithBinaryen(wat: string): Uint8Array<ArrayBuffer> {
  const mod = binaryen.parseText(wat);
  try {
    mod.setFeatures(binaryen.Features.All);
    return new Uint8Array(mod.emitBinary());
  } finally {
    mod.dispose();
  }
}

function assemble(wat: string): Uint8Array<ArrayBuffer> {
  if (!wabtInstance) throw new Error("call probeProposals() first");
  const features = {
    exceptions: true, mutable_globals: true, sat_float_to_int: true, sign_extension: true, simd: true, threads: true,
    function_references: true, multi_value: true, tail_call: true, bulk_memory: true, reference_types: true,
    gc: true, memory64: true, extended_const: true, relaxed_simd: true, multi_memory: true,
  };
  const mod = wabtInstance.parseWat("probe.wat", wat, features);
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

// Compile options a JS-API proposal reads; an engine without the proposal ignores them, so the
// import stays unsatisfied and instantiation throws.
function instantiates(wat: string, options: object): boolean {
  try {
    const Module = WebAssembly.Module as unknown as new (bytes: Uint8Array, options: object) => WebAssembly.Module;
    new WebAssembly.Instance(new Module(assemble(wat), options), {});
    return true;
  } catch {
    return false;
  }
}

/** Each proposal's name and whether this engine accepts it as it is (no flags set). */
export async function probeProposals(): Promise<Map<string, boolean>> {
  wabtInstance ??= await wabtInit();
  const seen = new Map<string, boolean>();
  for (const p of PROPOSALS) {
    if (p.check) seen.set(p.name, p.check());
    else if (p.bytes) seen.set(p.name, WebAssembly.validate(new Uint8Array(p.bytes)));
    else seen.set(p.name, WebAssembly.validate(p.binaryen ? assembleWithBinaryen(p.wat!) : assemble(p.wat!)));
  }
  return seen;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seen = await probeProposals();
  process.stdout.write(`Node ${process.version} (V8 ${process.versions.v8})\n`);
  for (const [name, on] of seen) process.stdout.write(`| ${name} | ${on ? "on" : "off"} |\n`);
}
