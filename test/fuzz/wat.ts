// WebAssembly text -> binary with the `wabt` npm package (a WebAssembly build of wabt, so it runs
// on CI without Debian's wat2wasm). Loading it costs ~50 ms once per process.
import wabtInit from "wabt";

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Wabt | undefined;

/** Call once (await) before watToBinary. */
export async function loadWabt(): Promise<void> {
  wabt ??= await wabtInit();
}

/** Features V8 in Node 20 runs; wabt's defaults miss some of them. */
const FEATURES = { bulk_memory: true, reference_types: true, multi_value: true, sign_extension: true, sat_float_to_int: true, mutable_globals: true, simd: true, exceptions: true, tail_call: true };

export function watToBinary(text: string, name = "fuzz.wat"): Uint8Array<ArrayBuffer> {
  if (!wabt) throw new Error("call loadWabt() first");
  const mod = wabt.parseWat(name, text, FEATURES);
  try {
    mod.validate();
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

/** Best effort: the text of a binary (for printing a reproducer), or undefined when wabt cannot read it. */
export function binaryToWat(bytes: Uint8Array): string | undefined {
  if (!wabt) return undefined;
  try {
    const mod = wabt.readWasm(bytes, { readDebugNames: false, check: false, ...FEATURES });
    try {
      return mod.toText({ foldExprs: false, inlineExport: true });
    } finally {
      mod.destroy();
    }
  } catch {
    return undefined;
  }
}
