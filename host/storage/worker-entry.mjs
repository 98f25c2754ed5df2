// Loads the TypeScript storage worker in its thread (module hooks are per thread).
import "../../bin/ts-register.mjs";

await import("./worker.ts");
