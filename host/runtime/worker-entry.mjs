// Loads the TypeScript worker in a fresh thread: tsx's loader is per thread, so register it here.
import { register } from "tsx/esm/api";

register();
await import("./worker.ts");
