// A worker thread that runs guest instances. Each installed service has one Sandbox and a copy of
// its kv. Calls run to completion one after another; fuel bounds each, and the host's watchdog
// terminates the thread if a call outlives its deadline.
import { randomFillSync } from "node:crypto";
import { parentPort, workerData } from "node:worker_threads";
import { SoloError, toSoloError } from "../errors.ts";
// The guest worker loads only the wasm files it runs with (the folder's index would add ~100 ms
// of module loading to every worker start and restart); types come through the index.
import { ensureWasmFeatures } from "../wasm/engine.ts";
import type { LogLevel } from "../wasm/index.ts";
import { fail, type GuestEnv } from "./guest-env.ts";
import { KvView } from "./kv-view.ts";
import { WATCH, monotonicMs, type CallResult, type CallsMessage, type FromWorker, type InstallMessage, type InstanceLimits, type ResultsMessage, type ToWorker, type WireError } from "./protocol.ts";
import { Sandbox } from "./sandbox.ts";
import type { CallOutcome } from "./outcome.ts";
import { GlueSandbox, type Glue } from "./glue-sandbox.ts";
import type { GuestInstance } from "./guest-instance.ts";
import { JavySandbox } from "./javy-sandbox.ts";

ensureWasmFeatures();

const port = parentPort!;
const { watch } = workerData as { watch: SharedArrayBuffer };
const state = new Float64Array(watch);
const MAX_LOGS_PER_CALL = 100;
const MAX_LOG_CHARS = 8192;

/** Puts `running` (a call id, or minus an install's id) under the watchdog's deadline. */
function watchStart(running: number, deadlineMs: number) {
  state[WATCH.running] = running;
  state[WATCH.deadline] = monotonicMs() + deadlineMs;
}
function watchEnd() {
  state[WATCH.deadline] = 0;
}

const randomPool = new BigUint64Array(256);
let randomAt = randomPool.length;
function nextU64(): bigint {
  if (randomAt === randomPool.length) {
    randomFillSync(randomPool);
    randomAt = 0;
  }
  return randomPool[randomAt++]!;
}

/** jco glue modules, loaded once per URL (one per component shape). */
const glues = new Map<string, Glue>();

class Slot {
  sandbox: GuestInstance | undefined;
  logs: [LogLevel, string][] = [];
  readonly kv: KvView;
  readonly env: GuestEnv;
  constructor(readonly msg: InstallMessage) {
    this.kv = new KvView(msg.kv, msg.limits.kv);
    const denied = (what: string) => fail<never>("access-denied", `${what} is not granted to this service`);
    this.env = {
      log: (level, message) => {
        if (this.logs.length < MAX_LOGS_PER_CALL) this.logs.push([level, message.length > MAX_LOG_CHARS ? message.slice(0, MAX_LOG_CHARS) : message]);
      },
      kvGet: (k) => this.kv.get(k),
      kvSet: (k, v) => this.kv.set(k, v),
      kvDelete: (k) => this.kv.delete(k),
      kvKeys: (p) => this.kv.keys(p),
      kvCount: () => this.kv.count,
      secretGet: () => denied("secrets"),
      serviceCall: () => denied("calling other services"),
      emit: () => denied("emitting events"),
      nextU64,
    };
  }
  get limits(): InstanceLimits {
    return this.msg.limits;
  }
  instance(): GuestInstance {
    if (!this.sandbox) {
      const run = this.msg.run;
      // Instantiation and start code run with the service's own fuel and memory limits.
      const { memoryBytes, fuel } = this.limits;
      if (run.kind === "core") this.sandbox = Sandbox.create(run.module, { encoding: run.encoding, memoryLimitBytes: memoryBytes, startFuel: fuel, env: this.env });
      else if (run.kind === "javy") this.sandbox = new JavySandbox(run.module, this.env, memoryBytes, fuel);
      else {
        const glue = glues.get(run.glueUrl);
        if (!glue) throw new SoloError("INTERNAL", "glue module not loaded");
        this.sandbox = new GlueSandbox(glue, run.modules, this.env, memoryBytes, fuel);
      }
    }
    return this.sandbox;
  }
}

const slots = new Map<string, Slot>();

function wire(err: unknown): WireError {
  const e = toSoloError(err);
  return e.details === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, details: e.details };
}

function runCall(id: number, key: string, request: string): CallResult {
  const slot = slots.get(key);
  if (!slot) return { id, error: { code: "NOT_FOUND", message: `service ${key} is not running` }, fuel: 0, memoryBytes: 0 };
  const limits = slot.limits;
  // The deadline covers re-creating a trapped instance too (its start code is guest code).
  watchStart(id, limits.deadlineMs);
  let sandbox: GuestInstance;
  try {
    sandbox = slot.instance();
  } catch (err) {
    watchEnd();
    return { id, error: wire(err), fuel: 0, memoryBytes: 0 };
  }
  slot.kv.begin();
  slot.logs = [];
  let outcome: CallOutcome;
  try {
    outcome = sandbox.call(request, limits.fuel, limits.maxResponseBytes);
  } catch (err) {
    // A fault of the host's own binding, not the guest's: the call fails, the worker lives on.
    const e = toSoloError(err);
    outcome = { ok: false, code: e.code, message: e.message, fuel: 0, memoryBytes: 0, trapped: true };
  }
  watchEnd();
  const result: CallResult = { id, fuel: outcome.fuel, memoryBytes: outcome.memoryBytes };
  if (slot.logs.length > 0) result.logs = slot.logs;
  if (outcome.ok) {
    result.output = outcome.output;
    const writes = slot.kv.commit();
    if (writes) result.writes = writes;
  } else {
    slot.kv.begin();
    result.error = outcome.details === undefined ? { code: outcome.code, message: outcome.message } : { code: outcome.code, message: outcome.message, details: outcome.details };
    if (outcome.trapped) slot.sandbox = undefined; // re-created for the next call
  }
  return result;
}

function onCalls(msg: CallsMessage) {
  const n = msg.ids.length;
  const outputs: (string | null)[] = new Array(n);
  const fuels: number[] = new Array(n);
  const memoryBytes: number[] = new Array(n);
  let extra: ResultsMessage["extra"];
  for (let i = 0; i < n; i++) {
    const r = runCall(msg.ids[i]!, msg.keys[i]!, msg.requests[i]!);
    outputs[i] = r.output ?? null;
    fuels[i] = r.fuel;
    memoryBytes[i] = r.memoryBytes;
    if (r.error || r.writes || r.logs) (extra ??= {})[i] = { error: r.error, writes: r.writes, logs: r.logs };
  }
  const reply: FromWorker = { t: "results", ids: msg.ids, outputs, fuels, memoryBytes, extra };
  port.postMessage(reply);
}

// Loading jco glue is asynchronous: messages that arrive meanwhile wait, so order is kept.
let gate: Promise<void> | undefined;
const waiting: ToWorker[] = [];

port.on("message", (msg: ToWorker) => {
  if (gate) waiting.push(msg);
  else handle(msg);
});

function handle(msg: ToWorker) {
  if (msg.t === "install" && msg.run.kind === "glue" && !glues.has(msg.run.glueUrl)) {
    const url = msg.run.glueUrl;
    gate = import(url).then(
      (glue: Glue) => void glues.set(url, glue),
      (err: Error) => port.postMessage({ t: "ack", id: msg.id, error: { code: "INTERNAL", message: `cannot load the component's glue: ${err.message}` } } satisfies FromWorker),
    ).then(() => {
      gate = undefined;
      if (glues.has(url)) handle(msg);
      while (!gate && waiting.length) handle(waiting.shift()!);
    });
    return;
  }
  switch (msg.t) {
    case "calls":
      onCalls(msg);
      return;
    case "install": {
      const slot = new Slot(msg);
      // Instantiation and the start function run under the service's deadline, like a call.
      watchStart(-msg.id, msg.limits.deadlineMs);
      try {
        const sandbox = slot.instance();
        slots.set(msg.key, slot);
        port.postMessage({ t: "ack", id: msg.id, memoryBytes: sandbox.memoryBytes } satisfies FromWorker);
      } catch (err) {
        port.postMessage({ t: "ack", id: msg.id, error: wire(err) } satisfies FromWorker);
      } finally {
        watchEnd();
      }
      return;
    }
    case "uninstall":
      slots.delete(msg.key);
      port.postMessage({ t: "ack", id: msg.id } satisfies FromWorker);
      return;
    case "reload-kv": {
      const slot = slots.get(msg.key);
      slot?.kv.reset(msg.kv);
      port.postMessage({ t: "ack", id: msg.id } satisfies FromWorker);
      return;
    }
  }
}
