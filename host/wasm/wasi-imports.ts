// The WASI preview-1 functions a javy module may import, with the core signatures the shim
// implements. A module that declares one with another signature (an f64 count, an i64 exit code)
// would hand the shim values it does not expect, so it is refused at deploy. Names the shim does
// not implement answer ENOSYS, so they must at least return one i32 (an errno).
import { SoloError } from "../errors.ts";
import { formatType, I32, I64, sameType, type FuncType, type ModuleInfo } from "./module-info.ts";

export const WASI_MODULE = "wasi_snapshot_preview1";

const fn = (params: number[], results: number[] = [I32]): FuncType => ({ params, results });
const i32 = (n: number) => Array<number>(n).fill(I32);

export const WASI_SIGNATURES: Record<string, FuncType> = {
  fd_read: fn(i32(4)),
  fd_write: fn(i32(4)),
  clock_time_get: fn([I32, I64, I32]),
  clock_res_get: fn(i32(2)),
  random_get: fn(i32(2)),
  proc_exit: fn([I32], []),
  environ_sizes_get: fn(i32(2)),
  args_sizes_get: fn(i32(2)),
  environ_get: fn(i32(2)),
  args_get: fn(i32(2)),
  fd_fdstat_get: fn(i32(2)),
  fd_prestat_get: fn(i32(2)),
  fd_close: fn(i32(1)),
};

/** Refuses any import that is not a WASI preview-1 function of the signature the shim answers. */
export function checkWasiImports(info: ModuleInfo): void {
  for (const imp of info.imports) {
    const name = `${imp.module}#${imp.name}`;
    if (imp.module !== WASI_MODULE || imp.kind !== "function") {
      throw new SoloError("VALIDATION_FAILED", `javy module imports "${name}"; it may import only WASI preview-1 functions (statically linked javy output)`, { item: name, limit: "imports" });
    }
    const expected = WASI_SIGNATURES[imp.name];
    const ok = expected ? sameType(imp.type, expected) : !!imp.type && imp.type.results.length === 1 && imp.type.results[0] === I32 && imp.type.params.every((p) => p === I32 || p === I64);
    if (!ok) {
      const want = expected ? formatType(expected) : "(i32 | i64 ...) -> (i32)";
      throw new SoloError("VALIDATION_FAILED", `javy module imports "${name}" as ${formatType(imp.type)}; WASI preview-1 declares it ${want}`, { item: name, limit: "imports" });
    }
  }
}
