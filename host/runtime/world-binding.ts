// Solo's own canonical-ABI binding of the solo:agent world: each import as the core function a
// `canon lower` makes of it, reading arguments from and writing results into one guest memory
// through its cabi_realloc, in UTF-8 or UTF-16. Shared by the single-module runner (sandbox.ts)
// and the component runner (component-sandbox.ts). A call costs the string copies and one
// closure hop; every pointer is bounds-checked, so a bad one is the guest's fault.
import { LOG_LEVELS, WIT_ERROR_KINDS, importModuleName } from "../wasm/world.ts";
import { Counters, IMPORT_BASE_FUEL, OutOfFuel } from "./counters.ts";
import type { GuestEnv, WitResult } from "./guest-env.ts";
import { GuestFault, HostFault } from "./outcome.ts";

/**
 * The longest string an import takes (the largest kv value or request any limit allows): past it
 * the call traps before the host decodes anything (V8 cannot hold strings much over 512 MB).
 */
export const MAX_ARGUMENT_BYTES = 64 * 1024 * 1024;

/** The longest log line kept; longer ones are cut before they are decoded. */
export const MAX_LOG_BYTES = 8192;

export type Realloc = (old: number, oldSize: number, align: number, size: number) => number;

/** What every binding of one guest instance shares: its env, counters and last error log line. */
export interface BindingState {
  env: GuestEnv;
  counters: Counters;
  /** The last error-level log line, used as a trap's message (AssemblyScript's abort logs it). */
  lastErrorLog: string | undefined;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: false });
const utf8Encoder = new TextEncoder();

export class WorldBinding {
  /**
   * memory / realloc are read when used: a component's may belong to an instance made after the
   * binding (its realloc is undefined for a lowering that has none: such an import never allocates).
   */
  constructor(
    readonly state: BindingState,
    readonly encoding: "utf8" | "utf16",
    private readonly memory: () => WebAssembly.Memory,
    private readonly realloc: () => Realloc | undefined,
    /**
     * random.next-u64 answers its top 53 bits: QuickJS turns a u64 into a Number, exact only
     * below 2^53, and the JavaScript SDK joins two such draws into one exact 64-bit bigint.
     */
    private readonly randomBits53 = false,
  ) {}

  // ---- guest memory, every access bounds-checked: a bad pointer is the guest's fault ----

  view(ptr: number, size: number): DataView {
    const buf = this.memory().buffer;
    if (ptr < 0 || ptr + size > buf.byteLength) throw new GuestFault(`the guest gave the host a pointer outside its memory (${ptr}+${size} > ${buf.byteLength})`);
    return new DataView(buf, ptr, size);
  }

  bytes(ptr: number, size: number): Uint8Array {
    const buf = this.memory().buffer;
    if (ptr < 0 || ptr + size > buf.byteLength) throw new GuestFault(`the guest gave the host a pointer outside its memory (${ptr}+${size} > ${buf.byteLength})`);
    return new Uint8Array(buf, ptr, size);
  }

  /** Bytes a string of `len` units occupies in guest memory. */
  size(len: number): number {
    return this.encoding === "utf16" ? len * 2 : len;
  }

  private alloc(align: number, size: number): number {
    const realloc = this.realloc();
    if (!realloc) throw new GuestFault("the component lowered an import that returns a string without a realloc");
    return realloc(0, 0, align, size);
  }

  writeString(s: string): [number, number] {
    if (this.encoding === "utf16") {
      const len = s.length;
      const ptr = this.alloc(2, len * 2);
      if (ptr & 1) throw new GuestFault("cabi_realloc returned a misaligned pointer for a UTF-16 string");
      const target = this.bytes(ptr, len * 2);
      const units = new Uint16Array(target.buffer, target.byteOffset, len);
      for (let i = 0; i < len; i++) units[i] = s.charCodeAt(i);
      return [ptr, len];
    }
    const encoded = utf8Encoder.encode(s);
    const ptr = this.alloc(1, encoded.length);
    this.bytes(ptr, encoded.length).set(encoded);
    return [ptr, encoded.length];
  }

  readString(ptr: number, len: number): string {
    const b = this.bytes(ptr, this.size(len));
    if (this.encoding === "utf16") {
      // Code units as they are, lone surrogates included (a decoder would turn them into U+FFFD
      // and make two different kv keys one): kv refuses strings that are not well-formed.
      if (len < 32 && (ptr & 1) === 0) return String.fromCharCode.apply(null, new Uint16Array(b.buffer, ptr, len) as unknown as number[]);
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("utf16le");
    }
    return utf8Decoder.decode(b);
  }

  /** Charges a host import: its base cost plus the bytes it will touch, before touching them. */
  charge(units: number) {
    this.state.counters.charge(IMPORT_BASE_FUEL + units);
  }

  /** A string argument: charged by its size, then bounds-checked and decoded. */
  arg(ptr: number, len: number): string {
    len >>>= 0; // an i32 from the guest: its length is unsigned
    this.charge(this.size(len));
    if (this.size(len) > MAX_ARGUMENT_BYTES) throw new GuestFault(`a string argument of ${this.size(len)} bytes is over the host's limit of ${MAX_ARGUMENT_BYTES}`);
    return this.readString(ptr, len);
  }

  private writeU8(at: number, v: number) {
    this.view(at, 1).setUint8(0, v);
  }

  private writeU32(at: number, v: number) {
    this.view(at, 4).setUint32(0, v, true);
  }

  /** Writes a string (ptr @at, len @at+4). Allocation happens first: it may move the buffer. */
  private writeStringAt(at: number, s: string) {
    this.charge(s.length * 2);
    const [ptr, len] = this.writeString(s);
    this.writeU32(at, ptr);
    this.writeU32(at + 4, len);
  }

  /** Writes result<T, error> at ret: tag @0, payload @4 (written by okPayload). */
  private writeResult<T>(ret: number, r: WitResult<T>, okPayload?: (value: T, at: number) => void) {
    if (r.ok) {
      if (okPayload) okPayload(r.value, ret + 4);
      this.writeU8(ret, 0);
      return;
    }
    this.writeStringAt(ret + 8, r.message);
    this.writeU8(ret + 4, WIT_ERROR_KINDS.indexOf(r.kind));
    this.writeU8(ret, 1);
  }

  /** Every import: a fault of the host's own code is a HostFault, never mistaken for the guest's. */
  private guard<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    return (...args: A) => {
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof OutOfFuel || err instanceof GuestFault || err instanceof HostFault) throw err;
        // A trap inside the guest's own cabi_realloc, called back from here, is the guest's.
        if (err instanceof WebAssembly.RuntimeError || err instanceof RangeError) throw err;
        throw new HostFault(err);
      }
    };
  }

  /** The world's imports as core functions, by module name ("solo:agent/kv@0.1.0") and function name. */
  imports(): Record<string, Record<string, (...args: never[]) => unknown>> {
    const arg = (ptr: number, len: number) => this.arg(ptr, len);
    const g = <A extends unknown[], R>(fn: (...args: A) => R) => this.guard(fn);
    const st = this.state;
    return {
      [importModuleName("log")]: {
        log: g((level: number, ptr: number, len: number) => {
          len >>>= 0;
          // Charged in full, decoded only up to MAX_LOG_BYTES.
          this.charge(this.size(len));
          const keep = Math.min(len, this.encoding === "utf16" ? MAX_LOG_BYTES / 2 : MAX_LOG_BYTES);
          let message = this.readString(ptr, keep);
          if (keep < len) message += ` ... (clipped, ${this.size(len)} bytes)`;
          const name = LOG_LEVELS[level] ?? "info";
          if (name === "error") st.lastErrorLog = message;
          st.env.log(name, message);
        }),
      },
      [importModuleName("kv")]: {
        get: g((kp: number, kl: number, ret: number) =>
          this.writeResult(ret, st.env.kvGet(arg(kp, kl)), (v, at) => {
            if (v === undefined) this.writeU8(at, 0);
            else {
              this.writeStringAt(at + 4, v);
              this.writeU8(at, 1);
            }
          })),
        set: g((kp: number, kl: number, vp: number, vl: number, ret: number) => this.writeResult(ret, st.env.kvSet(arg(kp, kl), arg(vp, vl)))),
        delete: g((kp: number, kl: number, ret: number) => this.writeResult(ret, st.env.kvDelete(arg(kp, kl)))),
        keys: g((pp: number, pl: number, ret: number) => {
          this.charge(st.env.kvCount()); // the scan looks at every key: charged before it runs
          this.writeResult(ret, st.env.kvKeys(arg(pp, pl)), (keys, at) => {
            this.charge(keys.length * 8);
            const list = this.alloc(4, keys.length * 8);
            keys.forEach((k, i) => this.writeStringAt(list + i * 8, k));
            this.writeU32(at, list);
            this.writeU32(at + 4, keys.length);
          });
        }),
      },
      [importModuleName("clock")]: {
        "now-ms": g(() => (this.charge(0), st.env.nowMs())),
        "monotonic-ns": g(() => (this.charge(0), st.env.monotonicNs())),
      },
      [importModuleName("random")]: { "next-u64": g(() => (this.charge(0), this.randomBits53 ? st.env.nextU64() >> 11n : st.env.nextU64())) },
      [importModuleName("secrets")]: {
        get: g((np: number, nl: number, ret: number) => this.writeResult(ret, st.env.secretGet(arg(np, nl)), (v, at) => this.writeStringAt(at, v))),
      },
      [importModuleName("services")]: {
        call: g((sp: number, sl: number, rp: number, rl: number, ret: number) =>
          this.writeResult(ret, st.env.serviceCall(arg(sp, sl), arg(rp, rl), st.counters), (v, at) => this.writeStringAt(at, v))),
      },
      [importModuleName("events")]: {
        emit: g((kp: number, kl: number, dp: number, dl: number, ret: number) => this.writeResult(ret, st.env.emit(arg(kp, kl), arg(dp, dl)))),
      },
    };
  }
}
