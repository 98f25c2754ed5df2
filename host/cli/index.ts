// The `solo` command line (commander). This module only parses: each verb's module, and with it
// the host or the gRPC client, is imported when that verb runs, so `solo --help`, usage errors
// and `solo validate` start without loading the server side. bin/solo.mjs runs `run`, `validate`
// and help from a prebuilt copy of this module (bin/cli-bundle.mjs) and every other verb from
// source; a verb added here needs nothing more: its flags get SOLO_* variables (SoloCommand) and it
// runs from source.
//
//   local:   run, validate, certs issue, token attenuate (no server)
//   server:  start
//   client:  deploy, call, status, list, discover, kill, events, logs, usage, token grant, token revoke,
//            secret put|ls|rm|get|rotate
//            swap, rollback, versions, replace, audit
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { DEFAULT_LIMITS } from "../services/limits.ts";
import { EXIT, EXIT_CODES_HELP, FileError, UsageError, printFailure } from "./common.ts";
import { RUN_HELP, type RunContext } from "./local.ts";

/** package.json's version: `solo --version` (bin/solo.mjs answers it before loading this). */
export const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

const ENV_HELP = `
environment: every flag can be set by a variable: SOLO_ and the flag's name in capitals with
_ for - (--fuel -> SOLO_FUEL, --input-file -> SOLO_INPUT_FILE); an on/off flag takes 1 or 0
(SOLO_JSON=1). A flag on the command line wins over its variable (docs/OPERATIONS.md).`;

type Action = (...args: any[]) => Promise<number> | number;

const CLIENT_HELP = `
connection: gRPC over mutual TLS to --server, with the CA and client certificate from
--data DIR/tls/ (ca.pem, admin.pem, admin-key.pem; --ca/--cert/--key override) and the token from
--token, SOLO_TOKEN or DIR/admin.token. Prefer SOLO_TOKEN to --token: a flag shows in ps.`;

/** The flags every client verb takes. */
function client(cmd: Command): Command {
  return cmd
    .option("--json", "print the answer (or the error) as one JSON line on stdout")
    .addOption(new Option("--server <host:port>", "the server's gRPC address").env("SOLO_SERVER").default("127.0.0.1:50051"))
    .addOption(new Option("--data <dir>", "the server's data directory: certificates and admin.token").env("SOLO_DATA").default("./data"))
    .addOption(new Option("--token <token>", "a capability token (default: DIR/admin.token)").env("SOLO_TOKEN"))
    .option("--ca <file>", "the CA certificate (default DIR/tls/ca.pem)")
    .option("--cert <file>", "the client certificate (default DIR/tls/admin.pem)")
    .option("--key <file>", "the client key (default DIR/tls/admin-key.pem)")
    .addHelpText("after", CLIENT_HELP + "\n" + EXIT_CODES_HELP);
}

/** "solo token grant": the command's full name, for messages. */
function path(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** SOLO_<FLAG>: --fuel -> SOLO_FUEL, --input-file -> SOLO_INPUT_FILE. */
export function envName(flag: string): string {
  return `SOLO_${flag.replace(/^--/, "").replace(/-/g, "_").toUpperCase()}`;
}

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

/**
 * commander's Command, with a SOLO_* variable for every flag it is given (flags that name one keep
 * theirs), in whatever way a verb adds it. Commander reads the variables of flags that take a
 * value; an on/off flag would be set by any value at all (SOLO_JSON=0 meaning on), so those are
 * read in onOffFromEnv.
 */
class SoloCommand extends Command {
  override createCommand(name?: string): Command {
    return new SoloCommand(name);
  }

  override addOption(option: Option): this {
    if (option.long && !option.envVar && option.long !== "--version") {
      if (option.required || option.optional) option.env(envName(option.long));
      else if (!option.negate) option.description += ` (env: ${envName(option.long)}=1)`;
    }
    return super.addOption(option);
  }
}

/** The on/off flags of the verb about to run, from their variables when not given on the command line. */
function onOffFromEnv(cmd: Command): void {
  for (const opt of cmd.options) {
    if (!opt.long || opt.envVar || opt.required || opt.optional || opt.negate) continue;
    const name = envName(opt.long);
    const value = process.env[name];
    const attr = opt.attributeName();
    if (value === undefined || cmd.getOptionValueSource(attr) === "cli") continue;
    const v = value.trim().toLowerCase();
    if (!TRUE.has(v) && !FALSE.has(v)) throw new UsageError(`${name} must be 1 or 0 (true/false, yes/no, on/off); got ${JSON.stringify(value)}`);
    cmd.setOptionValueWithSource(attr, TRUE.has(v) ? true : undefined, "env");
  }
}

/**
 * Flags that say the same thing in different ways (where a request comes from): one given on the
 * command line wins over the others' variables, as a flag wins over its own. Without this an
 * exported SOLO_INPUT made `solo run x.ts --input-file req.json` a usage error.
 */
const ALTERNATIVES = [["input", "inputFile", "stdin"]];

function commandLineWins(cmd: Command): void {
  for (const group of ALTERNATIVES) {
    if (!group.some((attr) => cmd.getOptionValueSource(attr) === "cli")) continue;
    for (const attr of group) if (cmd.getOptionValueSource(attr) === "env") cmd.setOptionValueWithSource(attr, undefined, "default");
  }
}

/** Builds the program; `setCode` receives the verb's exit code. */
export function program(setCode: (code: number) => void, ctx: RunContext = {}): Command {
  const solo = new SoloCommand("solo")
    .description("Solo: deploy and run sandboxed WebAssembly services (docs/API.md, docs/OPERATIONS.md)")
    .version(VERSION, "-V, --version", "print the version")
    .exitOverride()
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .addHelpText("after", EXIT_CODES_HELP + "\n" + ENV_HELP);

  // A verb's errors: a usage error goes back through commander (message, help, exit 2); a file
  // that cannot be read is one line and exit 2; any other failure is printed per the output
  // contract (exit 1).
  const act = (fn: Action) =>
    async function (this: Command, ...args: unknown[]) {
      try {
        onOffFromEnv(this);
        commandLineWins(this);
        const opts = this.opts() as { json?: boolean };
        try {
          setCode(await fn(...args.slice(0, -1)));
        } catch (err) {
          if (!(err instanceof FileError)) throw err;
          printFailure(err, opts.json === true);
          setCode(EXIT.usage);
        }
      } catch (err) {
        if (err instanceof UsageError) this.error(`${path(this)}: ${err.message}`, { exitCode: EXIT.usage, code: "solo.usage" });
        setCode(printFailure(err, (this.opts() as { json?: boolean }).json === true));
      }
    };

  solo
    .command("start")
    .description("run the server: the host, gRPC (mTLS) and HTTPS/WebSocket, until SIGINT/SIGTERM")
    .addOption(new Option("--data <dir>", "the data directory (state, tls/, admin.token)").env("SOLO_DATA").default("./data"))
    .addOption(new Option("--grpc <host:port>", "gRPC address; port 0 picks a free one").env("SOLO_GRPC").default("127.0.0.1:50051"))
    .addOption(new Option("--http <host:port>", "HTTPS + WebSocket address; port 0 picks a free one").env("SOLO_HTTP").default("127.0.0.1:8443"))
    .addOption(new Option("--workers <n>", "guest worker threads (default: one per core)").env("SOLO_WORKERS"))
    .addOption(new Option("--call-spin-ms <ms>", "how long the API thread and a worker spin for an answer they expect that soon, 0 to 0.5 (default 0.05; 0: never, for a machine shared with other busy work)").env("SOLO_CALL_SPIN_MS"))
    .addOption(new Option("--cache <dir>", "compiled artifacts (default DIR/artifacts; safe to share between data directories)").env("SOLO_CACHE"))
    .option("--insecure-http", "plain HTTP instead of HTTPS on --http (loopback addresses only)")
    .addOption(new Option("--metrics-port <n>", "also serve GET /metrics without a token on plain HTTP at 127.0.0.1:N, for local scrapers; 0 picks a free port (default: off)").env("SOLO_METRICS_PORT"))
    .option("--quota <name=value...>", "a default quota for every tenant (memoryBytes, services, queuedCalls, fuelPerCall, fuelPerSecond, kvBytes, kvKeyBytes, kvValueBytes, kvKeysPerCall); over SOLO_QUOTA_* variables")
    .addHelpText("after", `
stdout: exactly one line once both listeners listen: {"ready":true,"grpc","http","dataDir"}.
stderr: where the admin token is (never the token), guest logs, closing messages.
SIGINT/SIGTERM: stop taking requests, let those in flight finish, close; exit 0 (a second signal
stops at once, exit 1).
${EXIT_CODES_HELP}`)
    .action(act(async (o) => (await import("./start.ts")).start(o)));

  solo
    .command("run")
    .description("compile and run a guest locally, for one request or one per line of standard input, and print its output")
    .argument("<file>", "the guest's source (.as.ts, .ts, .js, .mjs) or a .wasm")
    .option("--lang <language>", "assemblyscript, typescript, javascript, component or javy (default: from the file name)")
    .option("--input <text>", "the request (default empty)")
    .option("--input-file <file>", "read the request from a file")
    .option("--stdin", "one request per line of standard input, in order, against one instance (the default when no request is given and standard input is not a terminal)")
    .option("--data <dir>", "keep the guest's kv between runs in DIR/run (default: in memory, dropped at exit)")
    .option("--fuel <n>", `fuel units per call (default ${DEFAULT_LIMITS.fuel})`)
    .option("--memory <bytes>", `linear memory (default ${DEFAULT_LIMITS.memoryBytes})`)
    .option("--deadline <ms>", `wall-clock deadline (default ${DEFAULT_LIMITS.deadlineMs})`)
    .option("--json", "print {output,fuel,memoryBytes} or {error} as one JSON line per request")
    .addHelpText("after", RUN_HELP + "\n" + EXIT_CODES_HELP)
    .action(act(async (file, o) => (await import("./local.ts")).run(file, o, ctx)));

  solo
    .command("validate")
    .description("check a guest's source against Solo's deploy rules, locally; exit 1 on an error finding")
    .argument("<file>")
    .option("--lang <language>", "the language (default: from the file name)")
    .option("--json", "print the report {ok, findings} as one JSON line")
    .option("--types <mode>", "TypeScript type checks: warning (default), error, or off (skips loading the checker: ~1 s the first time)")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(act(async (file, o) => (await import("./local.ts")).validate(file, o)));

  client(
    solo
      .command("deploy")
      .description("compile FILE on the server and run it as TENANT's service")
      .argument("<file>", "the guest's source (.as.ts, .ts, .js, .mjs) or a .wasm")
      .requiredOption("--tenant <tenant>", "the tenant")
      .option("--service <name>", "the service name (default: the file name without extensions)")
      .option("--lang <language>", "the language (default: from the file name)")
      .option("--compiler <name>", "quickjs (default) or javy, for JavaScript")
      .option("--cap <list>", "guest capabilities, comma-separated: log,clock,random,kv,emit,secret:NAME,call:SERVICE (default log,clock,random,kv)")
      .option("--fuel <n>", "fuel units per call")
      .option("--memory <bytes>", "linear memory per instance")
      .option("--deadline <ms>", "wall-clock deadline per call")
      .option("--max-request-bytes <n>", "largest request")
      .option("--max-response-bytes <n>", "largest response")
      .option("--kv-max-bytes <n>", "the service's kv store size")
      .option("--description <text>", "what the service does, for discovery (at most 500 characters)")
      .option("--tag <tag>", "a tag for discovery (repeat for more; at most 16)", (v: string, acc: string[] = []) => [...acc, v])
      .option("--tags <list>", "tags for discovery, comma-separated"),
  ).action(act(async (file, o) => (await import("./services.ts")).deploy(file, o)));

  client(
    solo
      .command("call")
      .description("call TENANT's SERVICE with REQUEST (default empty) and print its output")
      .argument("<tenant>")
      .argument("<service>")
      .argument("[request]", "the request text")
      .option("--input-file <file>", "read the request from a file"),
  ).action(act(async (tenant, service, request, o) => (await import("./services.ts")).call(tenant, service, request, o)));

  client(solo.command("status").description("a service's state, version, limits, calls and errors").argument("<tenant>").argument("<service>"))
    .action(act(async (tenant, service, o) => (await import("./services.ts")).status(tenant, service, o)));

  client(solo.command("list").description("a tenant's services").argument("<tenant>"))
    .action(act(async (tenant, o) => (await import("./services.ts")).listServices(tenant, o)));

  client(
    solo
      .command("discover")
      .description("TENANT's services your token may call, with their description, tags and capabilities")
      .argument("<tenant>")
      .option("--tag <tag>", "only services with this tag")
      .option("--name <service>", "only this service"),
  ).action(act(async (tenant, o) => (await import("./services.ts")).discover(tenant, o)));

  client(solo.command("kill").description("stop a service and delete it with its kv").argument("<tenant>").argument("<service>"))
    .action(act(async (tenant, service, o) => (await import("./services.ts")).kill(tenant, service, o)));

  client(solo.command("usage").description("a tenant's quotas and what it uses of each").argument("<tenant>"))
    .action(act(async (tenant, o) => (await import("./services.ts")).usage(tenant, o)));

  client(
    solo
      .command("quota")
      .description("set some of a tenant's quotas (an admin token); the others keep their value")
      .argument("<tenant>")
      .argument("<name=value...>", "e.g. memoryBytes=268435456 services=20 fuelPerSecond=5000000000"),
  ).action(act(async (tenant, pairs, o) => (await import("./services.ts")).quota(tenant, pairs, o)));

  client(
    solo
      .command("events")
      .description("the event log: TENANT's events (all tenants for an admin token when omitted)")
      .argument("[tenant]")
      .option("--follow", "keep printing live events until Ctrl-C")
      .option("--after <id>", "only events after this id (resume)")
      .option("--type <type>", "only this event type (e.g. service_deployed)")
      .option("--service <name>", "only this service's events")
      .option("--limit <n>", "at most this many stored events"),
  ).action(act(async (tenant, o) => (await import("./events.ts")).events(tenant, o)));

  client(
    solo
      .command("logs")
      .description("TENANT's guest log lines kept by the server (the last 200 a service; every service the token covers when SERVICE is omitted)")
      .argument("<tenant>")
      .argument("[service]")
      .option("--follow", "keep printing new lines until Ctrl-C")
      .option("--tail <n>", "only the last N kept lines (0: only new ones with --follow)"),
  ).action(act(async (tenant, service, o) => (await import("./logs.ts")).logs(tenant, service, o)));

  // Hot swap (issue 11): swap, rollback, versions, replace.
  client(
    solo
      .command("swap")
      .description("replace TENANT's SERVICE's code with FILE in place: kv kept, no call fails; rolls back by itself if the new version keeps failing")
      .argument("<tenant>")
      .argument("<service>")
      .argument("<file>", "the new version's source (.as.ts, .ts, .js, .mjs) or a .wasm")
      .option("--lang <language>", "the language (default: from the file name)")
      .option("--cap <list>", "guest capabilities, comma-separated (default: the running version's)")
      .option("--rollback-window <duration>", "how long Solo watches the new version: 30s, 2m, 500ms; 0 for no window (default 30s)")
      .option("--max-failure-rate <rate>", "share of calls in the window that may trap or run out of fuel, memory or time before Solo rolls back (default 0.1)")
      .option("--health-request <text>", "a request the new version must answer before the switch (with --health-expect)")
      .option("--health-expect <text>", "the answer --health-request must get"),
  ).action(act(async (tenant, service, file, o) => (await import("./swap.ts")).swap(tenant, service, file, o)));

  client(solo.command("rollback").description("make an older version of TENANT's SERVICE current again (default: the previous one)").argument("<tenant>").argument("<service>").argument("[version]", "a version number (see solo versions)"))
    .action(act(async (tenant, service, version, o) => (await import("./swap.ts")).rollback(tenant, service, version, o)));

  client(solo.command("versions").description("a service's versions, oldest first (* marks the current one)").argument("<tenant>").argument("<service>"))
    .action(act(async (tenant, service, o) => (await import("./swap.ts")).versions(tenant, service, o)));

  client(
    solo
      .command("replace")
      .description("kill TENANT's service and deploy FILE in its place (built first; the kv starts empty): when a swap cannot do")
      .argument("<file>", "the guest's source (.as.ts, .ts, .js, .mjs) or a .wasm")
      .requiredOption("--tenant <tenant>", "the tenant")
      .option("--service <name>", "the service name (default: the file name without extensions)")
      .option("--lang <language>", "the language (default: from the file name)")
      .option("--cap <list>", "guest capabilities, comma-separated (default log,clock,random,kv)"),
  ).action(act(async (file, o) => (await import("./swap.ts")).replace(file, o)));

  // The dev loop (issue 15): new (local), dev (a server).
  solo
    .command("new")
    .description("make a service folder NAME/: the guest, a test that runs it with solo run (node --test), a README")
    .argument("<name>", "the folder to make; its last part is the service's name")
    .option("--lang <lang>", "ts (TypeScript), as (AssemblyScript) or js (JavaScript)", "ts")
    .option("--json", "print {dir,service,language,files} as one JSON line")
    .addHelpText("after", `\nAn existing folder that is not empty is refused: ALREADY_EXISTS on stderr, exit 2.\n${EXIT_CODES_HELP}`)
    .action(act(async (name, o) => (await import("./new.ts")).newService(name, o)));

  client(
    solo
      .command("dev")
      .description("deploy FILE as TENANT's service (a swap if it exists), then swap it in on every save, printing the service's log lines and events until Ctrl-C")
      .argument("<file>", "the guest's source (.as.ts, .ts, .js, .mjs) or a .wasm")
      .requiredOption("--tenant <tenant>", "the tenant")
      .option("--service <name>", "the service name (default: the file name without extensions)")
      .option("--lang <language>", "the language (default: from the file name)")
      .option("--cap <list>", "guest capabilities, comma-separated (default log,clock,random,kv; a swap keeps the running version's)")
      .addHelpText("after", `
A save that does not build prints FILE:LINE:COLUMN: message and the running version serves on.
Saving the same content again does nothing. The service's log lines print as
"HH:MM:SS log LEVEL message". --json: one JSON line per step ({"kind":"deployed"|"swapped"|
"unchanged"|"failed"|"event"|"log"|...}). Ctrl-C: exit 0, the service stays deployed.`),
  ).action(act(async (file, o) => (await import("./dev.ts")).dev(file, o)));

  client(
    solo
      .command("audit")
      .description("the host's health: event chain, storage, workers, quotas, crash loops and breakers, tokens and certificates about to expire (an admin token)")
      .option("--full", "verify the whole event chain (default: only what was appended since the last audit)")
      .addHelpText("after", `
audit exit codes: 0 healthy, 3 degraded, 4 failing (1: the audit could not run; 2: a usage error).`),
  ).action(act(async (o) => (await import("./audit.ts")).audit(o)));

  const token = solo.command("token").description("capability tokens: grant, revoke, attenuate").addHelpText("after", EXIT_CODES_HELP);
  client(
    token
      .command("grant")
      .description("a new token for TENANT; printed once (with --json: {token,id,expiresAt})")
      .requiredOption("--tenant <tenant>", "the tenant ('*' for every tenant: admins only)")
      .requiredOption("--permissions <list>", "comma-separated: deploy,call,swap,kill,read,grant,secrets,admin")
      .option("--services <list>", "only these services (comma-separated)")
      .option("--ttl <duration>", "lifetime: 30s, 10m, 2h, 7d, 500ms or bare milliseconds", "1h")
      .option("--note <text>", "a note kept with the grant"),
  ).action(act(async (o) => (await import("./tokens.ts")).grant(o)));
  client(token.command("revoke").description("revoke a token (or a grant by id) and every token derived from it").argument("<token-or-id>"))
    .action(act(async (t, o) => (await import("./tokens.ts")).revoke(t, o)));
  token
    .command("attenuate")
    .description("a narrower token made offline from TOKEN (no server): fewer permissions or services, an earlier expiry")
    .argument("<token>")
    .option("--permissions <list>", "keep only these permissions")
    .option("--services <list>", "only these services")
    .option("--ttl <duration>", "expire this long from now: 30s, 10m, 2h, 7d, 500ms")
    .option("--json", "print {token,id,expiresAt?} as one JSON line")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(act(async (t, o) => (await import("./tokens.ts")).attenuateToken(t, o)));

  const secret = solo.command("secret").description("a tenant's secrets: put, ls, rm (the `secrets` permission); get, rotate (admin)").addHelpText("after", EXIT_CODES_HELP);
  client(
    secret
      .command("put")
      .description("store (or replace) TENANT's secret NAME; the value from standard input (one trailing newline dropped) or --value")
      .argument("<tenant>")
      .argument("<name>", "the NAME of the secret:NAME capability services are deployed with")
      .option("--value <value>", "the value (shows in ps; prefer standard input)"),
  ).action(act(async (tenant, name, o) => (await import("./secrets.ts")).put(tenant, name, o)));
  client(secret.command("ls").description("TENANT's secrets: names, versions, times; never values").argument("<tenant>"))
    .action(act(async (tenant, o) => (await import("./secrets.ts")).ls(tenant, o)));
  client(secret.command("rm").description("remove TENANT's secret NAME; services granted it get not-found").argument("<tenant>").argument("<name>"))
    .action(act(async (tenant, name, o) => (await import("./secrets.ts")).rm(tenant, name, o)));
  client(secret.command("get").description("print a secret's value (an admin token only)").argument("<tenant>").argument("<name>"))
    .action(act(async (tenant, name, o) => (await import("./secrets.ts")).get(tenant, name, o)));
  client(
    secret
      .command("rotate")
      .description("re-seal every secret under a new master key (an admin token); the server makes the key, unless its key comes from SOLO_MASTER_KEY")
      .option("--new-key-file <file>", "with SOLO_MASTER_KEY: a file holding the new key (32 bytes as base64 or hex); set the variable to it before the next start"),
  ).action(act(async (o) => (await import("./secrets.ts")).rotate(o)));

  const certs = solo.command("certs").description("client certificates signed by the data directory's CA").addHelpText("after", EXIT_CODES_HELP);
  certs
    .command("issue")
    .description("make DIR/tls/NAME.pem and NAME-key.pem (mode 0600) and print their paths")
    .argument("<name>", "the certificate's name (its CN): a-z, 0-9, _ . -")
    .addOption(new Option("--data <dir>", "the data directory").env("SOLO_DATA").default("./data"))
    .option("--json", "print {cert,key} as one JSON line")
    .addHelpText("after", EXIT_CODES_HELP)
    .action(act(async (name, o) => (await import("./certs.ts")).certsIssue(name, o)));

  return solo;
}

/** Runs `solo` with argv (without node and the script); answers the exit code. */
export async function main(argv: string[], ctx: RunContext = {}): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await program((c) => (code = c), ctx).parseAsync(argv, { from: "user" });
    return code;
  } catch (err) {
    // Help asked for exits 0; help shown for a bad or missing command, or any parse error, 2.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw err;
  }
}
