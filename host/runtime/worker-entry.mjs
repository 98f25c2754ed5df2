// Loads the TypeScript worker in a fresh thread; module hooks are registered per thread.
import "../../bin/ts-register.mjs";

await import("./worker.ts");
