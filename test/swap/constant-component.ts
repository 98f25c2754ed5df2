// A hand-made component that answers `text` (UTF-8) whatever it is asked: cheap to build, and a
// distinct artifact per text, for tests that need many versions.
import { componentEmbed, componentNew } from "@bytecodealliance/jco";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";
import { wat } from "../meter/wat.ts";

const SOLO_WIT = readFileSync(join(ROOT, "wit", "solo.wit"), "utf8");

export async function constant(text: string): Promise<Uint8Array> {
  const core = `(module
  (memory (export "memory") 1)
  (data (i32.const 64) "${text}")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
  (func (export "handle") (param i32 i32) (result i32)
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (i32.const 64))
    (i32.store (i32.const 24) (i32.const ${text.length}))
    (i32.const 16))
)`;
  return componentNew(await componentEmbed({ binary: wat(core), witSource: SOLO_WIT, world: "service", stringEncoding: "utf8" }));
}
