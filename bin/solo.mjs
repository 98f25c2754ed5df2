#!/usr/bin/env node
// The `solo` command. Runs the TypeScript sources directly (bin/ts-hooks.mjs): no build step.
import "./ts-register.mjs";

const { main } = await import("../host/cli/index.ts");
process.exitCode = await main(process.argv.slice(2));
