// Builds core modules from WebAssembly text with binaryen, for the meter's own tests.
import binaryen from "binaryen";

export function wat(text: string): Uint8Array {
  const mod = binaryen.parseText(text);
  try {
    mod.setFeatures(binaryen.Features.All);
    if (!mod.validate()) throw new Error("invalid test module");
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}
