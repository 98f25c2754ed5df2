// Turns on the WebAssembly features Solo's guests need, before the first compile in a thread.
// componentize-qjs output uses extended-const, which Node 20 (V8 11.3) keeps behind a flag; from
// Node 22 it is standard and the flag is gone: V8 then prints "unrecognized flag" to stderr and
// carries on, so the flag is set only when the probe fails. V8 flags are per process, but each
// thread calls this so none compiles before it ran. Every other proposal is left as the engine
// ships it (docs/SECURITY.md, "Engines").
import { setFlagsFromString } from "node:v8";
import { SoloError } from "../errors.ts";

// (module (global i32 (i32.add (i32.const 1) (i32.const 2)))) needs extended-const to validate.
const EXTENDED_CONST_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x06, 0x09, 0x01, 0x7f, 0x00, 0x41, 0x01, 0x41, 0x02, 0x6a, 0x0b,
]);

let checked = false;

export function ensureWasmFeatures(): void {
  if (checked) return;
  if (!WebAssembly.validate(EXTENDED_CONST_PROBE)) setFlagsFromString("--experimental-wasm-extended-const");
  if (!WebAssembly.validate(EXTENDED_CONST_PROBE)) {
    throw new SoloError("INTERNAL", "this Node.js cannot enable WebAssembly extended-const; use Node 24 (or 20.19+ / 22.12+)");
  }
  checked = true;
}

export function extendedConstEnabled(): boolean {
  return WebAssembly.validate(EXTENDED_CONST_PROBE);
}
