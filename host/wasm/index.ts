export { ArtifactStore, sha256, type Artifact, type ArtifactCounters } from "./artifact.ts";
export { inspectComponent, checkModule, DEFAULT_INSPECT_LIMITS, type InspectLimits, type Inspected } from "./inspect.ts";
export { meter, DEFAULT_METER_SETTINGS, type MeterSettings, type MeterReport, FUEL_GLOBAL, PAGE } from "./meter.ts";
export { readComponent, type ComponentInfo } from "./component.ts";
export { readModuleInfo, type ModuleInfo } from "./module-info.ts";
export { ensureWasmFeatures, extendedConstEnabled } from "./engine.ts";
export { isComponent, isCoreModule } from "./binary.ts";
export { LOG_LEVELS, type LogLevel } from "./world.ts";
