export { validateSource, requireValid, type Finding, type ValidationReport, type ValidateOptions } from "./validate.ts";
