// The host's side of the builder process. Everything an agent sends is validated, compiled,
// inspected, metered and transpiled there, never on the API thread: asc calls process.exit when
// it crashes, and componentize-qjs runs the guest's top-level code at build time. One process,
// started on the first job and reused (asc loads in ~1.5 s), runs one job at a time; a job past
// its time or memory limit kills the process and fails that job only. Jobs queued behind it run
// on a new process (or one another host left idle). Close ends the process, or with idleMs leaves
// an idle one for the next Builder of this Node process (idle-builders.ts).
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SoloError } from "../errors.ts";
import { buildCrashed, buildOutOfMemory, buildTimedOut, crashReason, isHeapExhaustion, type JobAbout } from "./build-failures.ts";
import { residentBytes } from "./process-memory.ts";
import { builderKey, keepIdle, takeIdle } from "./idle-builders.ts";
import type { BuildJob, BuildOutput, BuildPhase, CheckOutput, FromBuilder, ToBuilder } from "./protocol.ts";

const ENTRY = fileURLToPath(new URL("./builder-process.ts", import.meta.url));
const TS_REGISTER = new URL("../../bin/ts-register.mjs", import.meta.url).href;
/** How often a running job's process RSS is read. An allocation burst can overshoot by what it allocates in this time. */
const POLL_MS = 50;
/** How much of the process's last output is kept, to say why it crashed. */
const TAIL_BYTES = 16 * 1024;

export interface BuildLimits {
  /** Wall-clock time one build job may take (including the builder's start when it needs one). */
  timeoutMs: number;
  /** Resident memory the builder process may reach during a job; also bounds V8's heap. */
  memoryBytes: number;
}

export const DEFAULT_BUILD_LIMITS: BuildLimits = { timeoutMs: 60_000, memoryBytes: 2 * 1024 ** 3 };

export interface BuilderOptions extends BuildLimits {
  /** The artifact cache directory the builder writes (components, metered modules, glue). */
  cacheDir?: string;
  /** Told of each job once it settles: "ok" or the error code, and seconds from run() (queue included). */
  onBuild?: (outcome: string, seconds: number) => void;
  /**
   * After close(), how long an idle builder process waits for the next Builder of this Node
   * process to take it (idle-builders.ts); default 0: close ends it.
   */
  idleMs?: number;
}

interface Job {
  id: number;
  job: BuildJob;
  about: JobAbout;
  resolve: (out: BuildOutput | CheckOutput) => void;
  reject: (err: SoloError) => void;
}

/** One builder process and the job it runs. */
interface Running {
  child: ChildProcess;
  ready: boolean;
  job?: Job;
  timer?: NodeJS.Timeout;
  poll?: NodeJS.Timeout;
  /** Set when the host killed it: the limit the job went past. */
  killedFor?: "time" | "memory";
  /** What the builder last said its job was doing. */
  phase?: BuildPhase;
  tail: string;
  exited?: boolean;
  /** What a process must match to be taken over (idle-builders.ts). */
  key: string;
  /** Taken over from a closed host rather than forked for this one. */
  taken: boolean;
  /** Removes this Builder's listeners from the process, before it is kept idle. */
  detach(): void;
}

export class Builder {
  private proc: Running | undefined;
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  private starts = 0;

  constructor(private readonly o: BuilderOptions) {}

  /** Processes started after the first: each replaced one that was killed or died. */
  /** How many builder processes were started (0: every build so far came from the cache). */
  get started(): number {
    return this.starts;
  }

  get restarts(): number {
    return Math.max(0, this.starts - 1);
  }

  run<J extends BuildJob>(job: J, about: JobAbout): Promise<J extends { op: "check" } ? CheckOutput : BuildOutput>;
  run(job: BuildJob, about: JobAbout): Promise<BuildOutput | CheckOutput> {
    if (this.closed) return Promise.reject(new SoloError("UNAVAILABLE", "the host is closed"));
    const out = new Promise<BuildOutput | CheckOutput>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, job, about, resolve, reject });
      this.pump();
    });
    const onBuild = this.o.onBuild;
    if (!onBuild) return out;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    return out.then(
      (r) => (onBuild("ok", seconds()), r),
      (err: SoloError) => {
        onBuild(err?.code ?? "INTERNAL", seconds());
        throw err;
      },
    );
  }

  /** Kills the builder process; queued and running jobs fail with UNAVAILABLE. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const gone = new SoloError("UNAVAILABLE", "the host is closing; deploy again once it is open");
    for (const j of this.queue.splice(0)) j.reject(gone);
    const p = this.proc;
    if (!p) return;
    if (this.keep(p)) return;
    if (p.job) this.finish(p).reject(gone);
    if (p.exited || p.child.exitCode !== null || p.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.child.once("exit", () => resolve()));
    this.hold(p, true); // until it is gone
    killGroup(p.child);
    await exited;
  }

  /**
   * At close: keeps the process for the next Builder (idleMs) if it is ready, idle (its last job
   * answered, whatever the answer), was never stopped, and holds less than a quarter of its memory
   * limit (a TS/JS guest's top-level code may use half at build time; the rest is the builder's).
   */
  private keep(p: Running): boolean {
    const ms = this.o.idleMs ?? 0;
    if (ms <= 0 || !p.ready || p.job || p.killedFor || p.exited || p.child.exitCode !== null || p.child.signalCode !== null || !p.child.connected) return false;
    const rss = p.child.pid === undefined ? undefined : residentBytes(p.child.pid);
    if (rss === undefined || rss > this.o.memoryBytes / 4) return false;
    p.detach();
    this.proc = undefined;
    keepIdle(p.child, p.key, ms, killGroup);
    return true;
  }

  /** Starts the next queued job when the process is free, starting a process if none runs. */
  private pump() {
    if (this.closed) return;
    const p = this.proc ?? (this.queue.length > 0 ? this.start() : undefined);
    if (!p) return;
    if (p.job || this.queue.length === 0) {
      this.hold(p, p.job !== undefined);
      return;
    }
    const job = this.queue.shift()!;
    p.job = job;
    p.tail = "";
    this.hold(p, true);
    p.timer = setTimeout(() => this.kill(p, "time"), this.o.timeoutMs);
    p.poll = setInterval(() => {
      const rss = p.child.pid === undefined ? undefined : residentBytes(p.child.pid);
      if (rss !== undefined && rss > this.o.memoryBytes) this.kill(p, "memory");
    }, POLL_MS);
    p.poll.unref();
    if (p.ready) this.send(p, { t: "job", id: job.id, job: job.job });
  }

  private start(): Running {
    this.starts++;
    const heapMiB = Math.max(64, Math.floor(this.o.memoryBytes / 1024 ** 2));
    // V8's default stack (~1 MB): a TS/JS guest's top-level code, run here at build time
    // (compile/quickjs-snapshot.ts), may recurse about a quarter as deep as its handle (a worker
    // thread has 4 MB). A larger one here also lets asc recurse deeper before it crashes.
    const execArgv = ["--import", TS_REGISTER, `--max-old-space-size=${heapMiB}`];
    // One another host of this process left idle (only for a host that keeps its own), else a new one.
    const pooled = (this.o.idleMs ?? 0) > 0;
    const key = pooled ? builderKey(execArgv) : "";
    const taken = pooled ? takeIdle(key) : undefined;
    const child = taken ?? fork(ENTRY, [], {
      execArgv,
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // Its own process group, so a kill takes what it started too (esbuild's service, javy).
      detached: true,
    });
    const keep = (d: Buffer) => {
      p.tail = (p.tail + d.toString("utf8")).slice(-TAIL_BYTES);
    };
    const onMessage = (msg: FromBuilder) => this.onMessage(p, msg);
    // A failed send ends in "exit"; a failed spawn (no pid) may not.
    const onError = () => {
      if (child.pid === undefined) void this.onExit(p, null, null);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => void this.onExit(p, code, signal);
    const p: Running = {
      child,
      ready: false,
      tail: "",
      key,
      taken: taken !== undefined,
      detach() {
        child.stdout!.removeListener("data", keep);
        child.stderr!.removeListener("data", keep);
        child.removeListener("message", onMessage);
        child.removeListener("error", onError);
        child.removeListener("exit", onExit);
      },
    };
    this.proc = p;
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    child.on("message", onMessage);
    child.on("error", onError);
    child.once("exit", onExit);
    this.send(p, { t: "init", cacheDir: this.o.cacheDir, memoryBytes: this.o.memoryBytes });
    return p;
  }

  private onMessage(p: Running, msg: FromBuilder) {
    if (msg.t === "ready") {
      p.ready = true;
      if (p.job) this.send(p, { t: "job", id: p.job.id, job: p.job.job });
      return;
    }
    if (!p.job || p.job.id !== msg.id) return;
    if (msg.t === "phase") {
      p.phase = msg.phase;
      return;
    }
    const job = this.finish(p);
    if (msg.t === "done") job.resolve(msg.output);
    else job.reject(SoloError.from(msg.error));
    this.pump();
  }

  private async onExit(p: Running, code: number | null, signal: NodeJS.Signals | null) {
    if (p.exited) return;
    p.exited = true;
    if (this.proc === p) this.proc = undefined;
    if (p.job && p.taken && !p.ready && !p.killedFor) {
      // A kept process that died while it waited (or as it was taken): the job goes to a new one.
      this.queue.unshift(this.finish(p));
      this.starts--;
    } else if (p.job) {
      const about = { ...p.job.about, ...(p.phase && { phase: p.phase }) };
      // The last lines it wrote say why it died; they may still be in the pipe.
      const stderr = p.child.stderr;
      if (stderr && !stderr.closed) await Promise.race([new Promise((r) => stderr.once("close", r)), new Promise((r) => setTimeout(r, 200))]);
      const reason = p.killedFor ?? (isHeapExhaustion(p.tail) ? "memory" : undefined);
      const err = reason === "time" ? buildTimedOut(about, this.o.timeoutMs)
        : reason === "memory" ? buildOutOfMemory(about, this.o.memoryBytes)
        : !p.ready ? new SoloError("INTERNAL", `the builder process could not start (${crashReason(p.tail, code, signal)})`)
        : buildCrashed(about, crashReason(p.tail, code, signal));
      if (p.job) this.finish(p).reject(err);
    }
    this.pump();
  }

  private kill(p: Running, why: "time" | "memory") {
    if (p.killedFor || !p.job) return;
    p.killedFor = why;
    killGroup(p.child);
  }

  /** Ends the running job's bookkeeping and returns it. */
  private finish(p: Running): Job {
    const job = p.job!;
    clearTimeout(p.timer);
    clearInterval(p.poll);
    p.job = undefined;
    p.phase = undefined;
    return job;
  }

  /** The process keeps the host alive only while it has work. */
  private hold(p: Running, busy: boolean) {
    const handles = [p.child, p.child.channel, p.child.stdout, p.child.stderr] as ({ ref?(): void; unref?(): void } | null | undefined)[];
    for (const h of handles) (busy ? h?.ref : h?.unref)?.call(h);
  }

  private send(p: Running, msg: ToBuilder) {
    try {
      p.child.send(msg);
    } catch {
      // The channel is closed: the process is gone and "exit" fails the job.
    }
  }
}

/** SIGKILL to the builder's process group: the builder and whatever it started. */
function killGroup(child: ChildProcess) {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    child.kill("SIGKILL"); // no group (not started, or a platform without them)
  }
}
