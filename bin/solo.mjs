#!/usr/bin/env node
// The `solo` command. `--version` answers before anything loads. `run`, `validate` and help run
// from a prebuilt copy of the CLI (bin/cli-bundle.mjs: plain JavaScript, no TypeScript hooks);
// every other verb, or all of them with SOLO_NO_PREBUILT=1, runs the TypeScript sources directly
// (bin/ts-hooks.mjs): no build step either way.
import { readFileSync } from "node:fs";

const argv = process.argv.slice(2);

if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version}\n`);
} else {
  const QUICK = new Set(["run", "validate", "help"]);
  const verb = argv.find((a) => !a.startsWith("-"));
  const quick = process.env.SOLO_NO_PREBUILT !== "1" && (verb === undefined || QUICK.has(verb) || argv.includes("--help") || argv.includes("-h"));
  let main;
  let ctx = {};
  if (quick) {
    const built = await (await import("./cli-bundle.mjs")).prebuilt();
    if (built) {
      try {
        ({ main } = await import(built.index.href));
        ctx = { workerEntry: built.worker };
      } catch {
        // A copy that cannot load (a file gone since it was checked): the sources serve.
        main = undefined;
      }
    }
  }
  if (!main) {
    await import("./ts-register.mjs");
    ({ main } = await import("../host/cli/index.ts"));
  }
  process.exitCode = await main(argv, ctx);
}
