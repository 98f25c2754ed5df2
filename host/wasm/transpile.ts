// Components with more than one core module (componentize-qjs builds 13) run through jco's
// generated glue: `transpile` (~0.7 s, once per component, cached) gives JavaScript that wires the
// core modules together, and `instantiate(getCoreModule, imports, instantiateCore)` lets the
// host hand it the metered, compiled modules. The glue is jco's code, not the guest's: it runs as
// host code; the guest stays inside the WebAssembly modules. Only components Solo built from
// source get here (wasm/glue-trust.ts). jco loads on first use, in the builder process only.
import { SoloError } from "../errors.ts";

export interface Transpiled {
  /** The glue module (ES module source). */
  glue: string;
  /** Core modules by the name the glue asks for. */
  modules: Record<string, Uint8Array>;
}

export const GLUE_NAME = "guest";

export async function transpileComponent(component: Uint8Array): Promise<Transpiled> {
  const { transpile } = await import("@bytecodealliance/jco");
  let out: { files: Record<string, Uint8Array> };
  try {
    out = (await transpile(component, { name: GLUE_NAME, instantiation: "sync", noTypescript: true, base64Cutoff: 0 })) as unknown as { files: Record<string, Uint8Array> };
  } catch (err) {
    throw new SoloError("VALIDATION_FAILED", `the component cannot be prepared to run: ${(err as Error).message}`);
  }
  const modules: Record<string, Uint8Array> = {};
  let glue: string | undefined;
  for (const [name, data] of Object.entries(out.files)) {
    if (name.endsWith(".wasm")) modules[name] = data;
    else if (name === `${GLUE_NAME}.js`) glue = new TextDecoder().decode(data);
  }
  if (!glue) throw new SoloError("INTERNAL", "jco produced no glue module");
  return { glue, modules };
}
