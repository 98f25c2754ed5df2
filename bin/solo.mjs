#!/bin/sh
":" //; exec node --min-semi-space-size=16 "$0" "$@"
// The `solo` command. `--version` answers before anything loads. Every verb but `start` and `dev`
// runs from a prebuilt copy of the CLI (bin/cli-bundle.mjs: plain JavaScript, no TypeScript hooks);
// those two, or all of them with SOLO_NO_PREBUILT=1, run the TypeScript sources directly
// (bin/ts-hooks.mjs): no build step either way.
//
// Run as a program, the first two lines are a shell script that starts Node with a young
// generation of 16 MiB (npm start does the same; docs/OPERATIONS.md, "The host's Node flags"): any
// POSIX sh, where `env -S` is not everywhere (BusyBox has none), and `exec`, so no shell stays
// between a supervisor's signals and Node. To Node they are a hashbang and a string statement.
import { readFileSync } from "node:fs";

const argv = process.argv.slice(2);
const verb = argv.find((a) => !a.startsWith("-"));
// A reader that stops early (`solo events --follow | head`) closes the pipe: the command ends
// quietly with 0, as Unix tools do, instead of a stack trace. Not `start` or `dev`: a host
// outlives whoever read its ready line.
if (verb !== "start" && verb !== "dev") {
  process.stdout.on("error", (err) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(0);
  });
}

if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version}\n`);
} else {
  // `start` and `dev` run a Host (storage worker, builder process: TypeScript entries): they load
  // from source; every other verb is a client, a local run or a template, and loads from the bundle.
  const FROM_SOURCE = new Set(["start", "dev"]);
  const quick = process.env.SOLO_NO_PREBUILT !== "1" && (verb === undefined || !FROM_SOURCE.has(verb) || argv.includes("--help") || argv.includes("-h"));
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
