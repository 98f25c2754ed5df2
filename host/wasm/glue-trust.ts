// Which multi-module components may run through jco's glue. Solo wires a component's core modules
// itself when its graph is one wasm/component-plan.ts covers (every QuickJS guest); only the rest
// would need jco's glue, JavaScript generated from the component (core export names land in it
// unescaped) that the worker loads as host code, so only components Solo built itself from source
// may take that path.
import { SoloError } from "../errors.ts";

/** The answer for a multi-module component that Solo did not build. */
export function untrustedGlue(reason?: string): SoloError {
  const why = reason ? ` wired in a way Solo's own binding does not cover (${reason})` : "";
  return new SoloError(
    "VALIDATION_FAILED",
    `this component has several core modules${why}, so it would run through generated JavaScript glue, which Solo runs only for components it built itself; deploy the TypeScript or JavaScript source instead (Solo builds it with QuickJS), or a component with a single core module that exports handle`,
    { item: "core-modules", limit: "glue", ...(reason ? { reason } : {}) },
  );
}
