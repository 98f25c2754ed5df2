export { Builder, DEFAULT_BUILD_LIMITS, type BuildLimits, type BuilderOptions } from "./builder.ts";
export { ArtifactStore, type Artifact, type Runnable, type SourceRequest } from "./artifact-store.ts";
export type { BuildJob, BuildOutput, SourceLanguage } from "./protocol.ts";
