// `node --import ./bin/ts-register.mjs file.ts` runs TypeScript: see ts-hooks.mjs.
import { register } from "node:module";

register(new URL("./ts-hooks.mjs", import.meta.url));
