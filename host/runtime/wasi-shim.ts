// A minimal WASI preview-1 for Javy modules: stdin is the request, stdout the reply, stderr goes
// to the guest's log; clocks and random are the GuestEnv's (where capabilities are checked: a
// denied clock reads 0, denied random fills zeroes); proc_exit ends the run. Every other WASI call
// answers ENOSYS, so a module that tries to open files or sockets fails cleanly, never reaching
// the host's own. Every call is charged to the guest's fuel before it touches memory: a base cost
// plus one unit per byte (and per iovec) it reads or writes.
import { IMPORT_BASE_FUEL, type Counters } from "./counters.ts";
import type { GuestEnv } from "./guest-env.ts";

const ERRNO = { success: 0, badf: 8, inval: 28, nosys: 52 } as const;

export class ProcExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export class WasiShim {
  private stdin: Uint8Array = new Uint8Array(0);
  private stdinAt = 0;
  private readonly stdout: Uint8Array[] = [];
  private readonly stderr: Uint8Array[] = [];
  private outBytes = 0;
  memory: WebAssembly.Memory | undefined;
  private counters: Counters | undefined;

  constructor(private readonly maxOutputBytes: number, private readonly env: GuestEnv) {}

  /** Binds the instance's memory and fuel counter (after instantiation, before any call). */
  attach(memory: WebAssembly.Memory, counters: Counters): void {
    this.memory = memory;
    this.counters = counters;
  }

  private charge(units: number) {
    this.counters?.charge(IMPORT_BASE_FUEL + units);
  }

  /** Total length of an iovec list, charged before any byte of it is touched. */
  private chargeIovs(view: DataView, iovs: number, count: number): void {
    this.charge((count >>> 0) * 8);
    let total = 0;
    for (let i = 0; i < count; i++) total += view.getUint32(iovs + i * 8 + 4, true);
    this.charge(total);
  }

  /** Starts a run: the request is stdin; output is collected afresh. */
  begin(request: Uint8Array): void {
    this.stdin = request;
    this.stdinAt = 0;
    this.stdout.length = 0;
    this.stderr.length = 0;
    this.outBytes = 0;
  }

  output(): { stdout: string; stderr: string; overflow: boolean } {
    const text = (parts: Uint8Array[]) => Buffer.concat(parts).toString("utf8");
    return { stdout: text(this.stdout), stderr: text(this.stderr), overflow: this.outBytes > this.maxOutputBytes };
  }

  /** Import object for exactly the functions the module imports. */
  imports(module: WebAssembly.Module): WebAssembly.Imports {
    const impl: Record<string, (...args: never[]) => number | void> = {
      fd_read: (fd: number, iovs: number, count: number, nread: number) => {
        this.charge(0);
        if (fd !== 0) return ERRNO.badf;
        const view = this.view();
        this.chargeIovs(view, iovs, count);
        let total = 0;
        for (let i = 0; i < count; i++) {
          const ptr = view.getUint32(iovs + i * 8, true);
          const len = view.getUint32(iovs + i * 8 + 4, true);
          const chunk = this.stdin.subarray(this.stdinAt, this.stdinAt + len);
          new Uint8Array(this.memory!.buffer, ptr, chunk.length).set(chunk);
          this.stdinAt += chunk.length;
          total += chunk.length;
          if (chunk.length < len) break;
        }
        view.setUint32(nread, total, true);
        return ERRNO.success;
      },
      fd_write: (fd: number, iovs: number, count: number, nwritten: number) => {
        this.charge(0);
        if (fd !== 1 && fd !== 2) return ERRNO.badf;
        const view = this.view();
        this.chargeIovs(view, iovs, count);
        let total = 0;
        for (let i = 0; i < count; i++) {
          const ptr = view.getUint32(iovs + i * 8, true);
          const len = view.getUint32(iovs + i * 8 + 4, true);
          this.outBytes += len;
          if (this.outBytes <= this.maxOutputBytes) (fd === 1 ? this.stdout : this.stderr).push(new Uint8Array(this.memory!.buffer, ptr, len).slice());
          total += len;
        }
        view.setUint32(nwritten, total, true);
        return ERRNO.success;
      },
      clock_time_get: (id: number, _precision: bigint, out: number) => {
        this.charge(8);
        const ns = id === 0 ? this.env.nowMs() * 1_000_000n : this.env.monotonicNs();
        this.view().setBigUint64(out, ns, true);
        return ERRNO.success;
      },
      clock_res_get: (_id: number, out: number) => {
        this.charge(24);
        this.view().setBigUint64(out, 1000n, true);
        return ERRNO.success;
      },
      random_get: (buf: number, len: number) => {
        len >>>= 0; // i32 arguments arrive signed; sizes and pointers are unsigned
        this.charge(len);
        this.env.randomFill(new Uint8Array(this.memory!.buffer, buf, len));
        return ERRNO.success;
      },
      proc_exit: (code: number) => {
        throw new ProcExit(code);
      },
      environ_sizes_get: (count: number, size: number) => (this.charge(8), this.zeroes(count, size)),
      args_sizes_get: (count: number, size: number) => (this.charge(8), this.zeroes(count, size)),
      environ_get: () => (this.charge(0), ERRNO.success),
      args_get: () => (this.charge(0), ERRNO.success),
      fd_fdstat_get: (fd: number, out: number) => {
        this.charge(24);
        if (fd > 2) return ERRNO.badf;
        new Uint8Array(this.memory!.buffer, out, 24).fill(0);
        this.view().setUint8(out, 2); // character device
        return ERRNO.success;
      },
      fd_prestat_get: () => (this.charge(0), ERRNO.badf), // no preopened directories: no filesystem
      fd_close: (fd: number) => (this.charge(0), fd <= 2 ? ERRNO.success : ERRNO.badf),
    };
    const wasi: Record<string, unknown> = {};
    for (const imp of WebAssembly.Module.imports(module)) {
      if (imp.module !== "wasi_snapshot_preview1" || imp.kind !== "function") continue;
      const fn = impl[imp.name];
      wasi[imp.name] = fn ? fn : () => (this.charge(0), ERRNO.nosys);
    }
    return { wasi_snapshot_preview1: wasi as WebAssembly.ModuleImports };
  }

  private zeroes(a: number, b: number): number {
    const v = this.view();
    v.setUint32(a, 0, true);
    v.setUint32(b, 0, true);
    return ERRNO.success;
  }

  private view(): DataView {
    return new DataView(this.memory!.buffer);
  }
}
