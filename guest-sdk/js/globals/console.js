// console for a guest that mentions it: each method logs through the log import. The build
// injects this file (and defines globalThis.console as it), so a guest without console imports
// no log. Set with defineProperty: the build's define would rewrite `globalThis.console = `.
import { log } from "solo";

export const console = { log: log.info, info: log.info, debug: log.debug, warn: log.warn, error: log.error };
Object.defineProperty(globalThis, "console", { value: console, writable: true, configurable: true });
