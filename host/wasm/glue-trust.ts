// Which multi-module components may run through jco's glue. The glue is JavaScript generated from
// the component (core export names land in it unescaped) and the worker loads it as host code, so
// only components Solo built itself from source may take that path.
import { SoloError } from "../errors.ts";

/** The answer for a multi-module component that Solo did not build. */
export function untrustedGlue(): SoloError {
  return new SoloError(
    "VALIDATION_FAILED",
    "this component has several core modules, so it would run through generated JavaScript glue, which Solo runs only for components it built itself; deploy the TypeScript or JavaScript source instead (Solo builds it with QuickJS), or a component with a single core module that exports handle",
    { item: "core-modules", limit: "glue" },
  );
}
