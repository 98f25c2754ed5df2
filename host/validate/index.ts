// Source validation. Light to import (no compiler at the top): the type checker loads inside the
// first type check (typecheck.ts).
export { validateSource, validateGuest, requireValid, requireTyped, mergeTypeFindings, checkTypeCheckMode, isTypeFinding, type Finding, type ValidationReport, type ValidateOptions, type TypeCheckMode } from "./validate.ts";
export { typeCheck, typeCheckerVersion, type TypeCheckOptions } from "./typecheck.ts";
export { soloExports } from "./contract.ts";
