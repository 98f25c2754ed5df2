// The generated entry sources and compiler flags. They decide a build's output, so they are part
// of the compile key; they live apart from the compilers so the host can hash them without
// loading asc (~1.5 s) or componentize-qjs.

// The AssemblyScript entry exports the world's core ABI around the guest's `handle`.
export const AS_ENTRY = `import { handle as guestHandle } from "./service";
import { liftString, returnResult } from "solo/abi";
export { cabi_realloc } from "solo/abi";
export function handle(ptr: usize, len: i32): usize {
  return returnResult(guestHandle(liftString(ptr, len)));
}
`;

/** The AssemblyScript compiler flags. */
export const ASC_FLAGS = [
  "-O3", "--runtime", "incremental",
  "--use", "abort=~lib/solo/abi/soloAbort", "--use", "trace=~lib/solo/abi/soloTrace", "--use", "seed=~lib/solo/abi/soloSeed",
];

// The TS/JS bundle's entry wraps the guest's handle so a wrong return type is a clear
// GUEST_ERROR (QuickJS would otherwise trap while lifting it).
export const JS_ENTRY = `import "solo";
import { handle as guestHandle } from "guest:main";
export function handle(request) {
  const out = guestHandle(request);
  if (typeof out === "string") return out;
  const what = out === undefined ? "undefined" : out instanceof Promise ? "a Promise (handle must not be async)" : typeof out;
  throw new Error("handle must return a string; it returned " + what);
}
`;
