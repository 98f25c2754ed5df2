import { readFileSync } from "node:fs";
import { readComponent } from "./host/wasm/component.ts";
import { readModuleInfo } from "./host/wasm/module-info.ts";
import { componentWit } from "@bytecodealliance/jco";
const bytes = readFileSync("/tmp/qjs/guest.wasm");
const c = readComponent(bytes);
console.log(c.imports, c.exports, c.nestingDepth, c.stringEncoding, c.coreModules.map(m => m.length));
for (const m of c.coreModules) { try { const i = readModuleInfo(m); console.log(m.length, "imports", i.imports.map(x => x.module + "#" + x.name).slice(0, 12), "exports", i.exports.map(e => e.name).slice(0, 12), "mem", i.memories, "globals", i.importedGlobals, i.definedGlobals); } catch (e) { console.log("info err", (e as Error).message); } }
console.log(await componentWit(bytes));
