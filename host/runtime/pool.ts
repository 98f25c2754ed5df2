// A pool of worker threads that run guest instances (one per core by default). A service lives on
// one worker; a tenant's services share it. Calls are queued per worker and posted in batches,
// one message per tick each way (a round trip costs ~20-40 us, so batching is what makes many
// calls in flight cheap). A watchdog terminates a worker whose call outlives its deadline; the
// calls queued behind it are re-dispatched to the replacement, which re-creates every instance.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { SoloError } from "../errors.ts";
import { WATCH, type CallResult, type FromWorker, type InstanceLimits, type RunSpec, type ToWorker, type WireError } from "./protocol.ts";

const ENTRY = new URL("./worker-entry.mjs", import.meta.url);

export interface InstallSpec {
  key: string;
  run: RunSpec;
  limits: InstanceLimits;
  /** The committed kv, read whenever the service is (re)installed. */
  loadKv: () => Promise<[string, string][]>;
}

interface PendingCall {
  id: number;
  key: string;
  request: string;
  resolve: (r: CallResult) => void;
}

interface PendingAck {
  resolve: (memoryBytes: number | undefined) => void;
  reject: (err: SoloError) => void;
}

export interface PoolOptions {
  size?: number;
  /** How often the watchdog looks at running calls. */
  watchdogMs?: number;
  onRestart?: (worker: number, reason: string) => void;
}

let nextId = 1;

class PoolWorker {
  worker!: Worker;
  state!: Int32Array;
  readonly installed = new Map<string, InstallSpec>();
  readonly calls = new Map<number, PendingCall>();
  readonly acks = new Map<number, PendingAck>();
  private queue: PendingCall[] = [];
  private flushScheduled = false;
  private closing = false;
  /** While a replacement thread is being given its services, calls wait in the queue. */
  private paused = false;

  constructor(readonly index: number, private readonly epoch: number, private readonly onDeath: (w: PoolWorker, code: number) => void) {
    this.start();
  }

  private start() {
    const watch = new SharedArrayBuffer(WATCH.size * 4);
    this.state = new Int32Array(watch);
    this.worker = new Worker(ENTRY, { workerData: { watch, epoch: this.epoch } });
    this.worker.unref(); // held (ref) only while it has work, so an idle pool never keeps a process alive
    this.worker.on("message", (msg: FromWorker) => this.onMessage(msg));
    this.worker.on("error", () => { /* followed by exit */ });
    const w = this.worker;
    w.on("exit", (code) => {
      if (this.worker === w && !this.closing) this.onDeath(this, code);
    });
  }

  get busy(): number {
    return this.calls.size;
  }

  post(msg: ToWorker) {
    this.worker.postMessage(msg);
  }

  private holdIfBusy() {
    if (this.calls.size + this.acks.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  request(msg: ToWorker & { id: number }): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      this.acks.set(msg.id, { resolve, reject });
      if (this.acks.size === 1) this.holdIfBusy();
      this.post(msg);
    });
  }

  enqueue(call: PendingCall) {
    this.calls.set(call.id, call);
    if (this.calls.size === 1) this.holdIfBusy();
    this.queue.push(call);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush() {
    this.flushScheduled = false;
    if (this.queue.length === 0 || this.paused) return;
    const n = this.queue.length;
    const ids: number[] = new Array(n);
    const keys: string[] = new Array(n);
    const requests: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const c = this.queue[i]!;
      ids[i] = c.id;
      keys[i] = c.key;
      requests[i] = c.request;
    }
    this.queue = [];
    this.post({ t: "calls", ids, keys, requests });
  }

  private onMessage(msg: FromWorker) {
    if (msg.t === "results") {
      for (let i = 0; i < msg.ids.length; i++) {
        const id = msg.ids[i]!;
        const call = this.calls.get(id);
        if (!call) continue;
        this.calls.delete(id);
        const result: CallResult = { id, fuel: msg.fuels[i]!, memoryBytes: msg.memoryBytes[i]! };
        const output = msg.outputs[i];
        if (output !== null && output !== undefined) result.output = output;
        const extra = msg.extra?.[i];
        if (extra) {
          if (extra.error) result.error = extra.error;
          if (extra.writes) result.writes = extra.writes;
          if (extra.logs) result.logs = extra.logs;
        }
        call.resolve(result);
      }
      if (this.calls.size === 0) this.holdIfBusy();
    } else {
      const ack = this.acks.get(msg.id);
      if (!ack) return;
      this.acks.delete(msg.id);
      if (this.acks.size === 0) this.holdIfBusy();
      if (msg.error) ack.reject(SoloError.from(msg.error));
      else ack.resolve(msg.memoryBytes);
    }
  }

  /** Replaces the thread: the running call gets `failure`, other calls run again on the new one. */
  async restart(runningId: number, failure: WireError) {
    const old = this.worker;
    const calls = [...this.calls.values()];
    const acks = [...this.acks.values()];
    this.calls.clear();
    this.acks.clear();
    this.queue = [];
    this.paused = true;
    this.start();
    void old.terminate();
    for (const ack of acks) ack.reject(new SoloError("UNAVAILABLE", "the worker was restarted; try again"));
    for (const call of calls) {
      if (call.id === runningId) call.resolve({ id: call.id, error: failure, fuel: 0, memoryBytes: 0 });
      else this.enqueue(call);
    }
    // Installs are posted before any queued call, so every call finds its instance.
    const installs = await Promise.all([...this.installed.values()].map(async (spec) => this.installMessage(spec).catch(() => undefined)));
    for (const msg of installs) if (msg) this.request(msg).catch(() => {});
    this.paused = false;
    this.flush();
  }

  private async installMessage(spec: InstallSpec): Promise<ToWorker & { id: number }> {
    return { t: "install", id: nextId++, key: spec.key, run: spec.run, limits: spec.limits, kv: await spec.loadKv() };
  }

  async sendInstall(spec: InstallSpec): Promise<number | undefined> {
    return this.request(await this.installMessage(spec));
  }

  async close() {
    this.closing = true;
    for (const call of this.calls.values()) call.resolve({ id: call.id, error: { code: "UNAVAILABLE", message: "the host is closing" }, fuel: 0, memoryBytes: 0 });
    this.calls.clear();
    for (const ack of this.acks.values()) ack.reject(new SoloError("UNAVAILABLE", "the host is closing"));
    this.acks.clear();
    await this.worker.terminate();
  }
}

export class WorkerPool {
  private readonly workers: PoolWorker[];
  private readonly epoch = Date.now();
  private readonly watchdog: NodeJS.Timeout;
  /** How many times a worker was replaced (deadline or crash). */
  restarts = 0;

  constructor(private readonly options: PoolOptions = {}) {
    const size = Math.max(1, options.size ?? availableParallelism());
    this.workers = Array.from({ length: size }, (_, i) => new PoolWorker(i, this.epoch, (w, code) => this.onDeath(w, code)));
    this.watchdog = setInterval(() => this.checkDeadlines(), options.watchdogMs ?? 10);
    this.watchdog.unref();
  }

  get size(): number {
    return this.workers.length;
  }

  /** The worker with the fewest installed services: where a new tenant goes. */
  leastLoaded(): number {
    let best = 0;
    for (const w of this.workers) if (w.installed.size < this.workers[best]!.installed.size) best = w.index;
    return best;
  }

  /** Creates the service's instance on a worker; resolves to its memory bytes at start. */
  async install(worker: number, spec: InstallSpec): Promise<number> {
    const w = this.worker(worker);
    const bytes = await w.sendInstall(spec);
    w.installed.set(spec.key, spec);
    return bytes ?? 0;
  }

  async uninstall(worker: number, key: string): Promise<void> {
    const w = this.worker(worker);
    w.installed.delete(key);
    await w.request({ t: "uninstall", id: nextId++, key });
  }

  /** Replaces a service's kv copy with the committed state (after a failed commit). */
  async reloadKv(worker: number, key: string, kv: [string, string][]): Promise<void> {
    await this.worker(worker).request({ t: "reload-kv", id: nextId++, key, kv });
  }

  call(worker: number, key: string, request: string): Promise<CallResult> {
    return new Promise((resolve) => this.worker(worker).enqueue({ id: nextId++, key, request, resolve }));
  }

  async close(): Promise<void> {
    clearInterval(this.watchdog);
    await Promise.all(this.workers.map((w) => w.close()));
  }

  private worker(i: number): PoolWorker {
    const w = this.workers[i];
    if (!w) throw new SoloError("INTERNAL", `no worker ${i}`);
    return w;
  }

  private checkDeadlines() {
    const now = Date.now() - this.epoch;
    for (const w of this.workers) {
      if (w.busy === 0) continue;
      const deadline = Atomics.load(w.state, WATCH.deadline);
      if (deadline !== 0 && now > deadline) {
        const id = Atomics.load(w.state, WATCH.callId);
        this.restarts++;
        this.options.onRestart?.(w.index, "deadline");
        void w.restart(id, { code: "DEADLINE_EXCEEDED", message: "the call ran past its deadline and was stopped; make it faster or raise limits.deadlineMs" });
      }
    }
  }

  private onDeath(w: PoolWorker, code: number) {
    const running = Atomics.load(w.state, WATCH.deadline) !== 0 ? Atomics.load(w.state, WATCH.callId) : -1;
    this.restarts++;
    this.options.onRestart?.(w.index, `exit ${code}`);
    void w.restart(running, { code: "UNAVAILABLE", message: `the worker running this call stopped (exit code ${code}); the service was restarted` });
  }
}
