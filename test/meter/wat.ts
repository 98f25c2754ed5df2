// Builds core modules from WebAssembly text with binaryen, for the meter's own tests.
import binaryen from "binaryen";

export function wat(text: string): Uint8Array {
  const mod = binaryen.parseText(text);
  try {
    // Everything V8 runs, but not binaryen's compact import encoding (a proposal V8 lacks).
    mod.setFeatures(binaryen.Features.All & ~(binaryen.Features as unknown as { CompactImports: number }).CompactImports);
    if (!mod.validate()) throw new Error("invalid test module");
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}
