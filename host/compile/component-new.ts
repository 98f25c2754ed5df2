// Core module -> component for the solo:agent/service world (or one of its variants with the
// optional exports), with jco (wasm-tools compiled to wasm). ~50-150 ms. componentNew validates
// the module's imports and exports against the WIT.
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { SoloError } from "../errors.ts";
import { WORLD_NAME } from "../wasm/index.ts";

export async function wrapCoreModule(core: Uint8Array, encoding: "utf8" | "utf16", wit: string, world: string = WORLD_NAME): Promise<Uint8Array> {
  try {
    const embedded = await componentEmbed({ binary: core, witSource: wit, world, stringEncoding: encoding });
    return await componentNew(embedded);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new SoloError("VALIDATION_FAILED", `module does not fit the solo:agent/${world} world: ${message}`);
  }
}
