export { WorkerPool, type InstallSpec, type LazyStart, type PoolOptions, type TenantLoad } from "./pool.ts";
export type { CallChannel } from "./call-ring.ts";
export { SPIN_TURN_MS, isSpinMs } from "./call-ring.ts";
export { Sandbox, type CallOutcome, type SandboxOptions } from "./sandbox.ts";
export { ComponentSandbox } from "./component-sandbox.ts";
export type { GuestEnv, WitResult } from "./guest-env.ts";
export { ok as witOk, fail as witFail } from "./guest-env.ts";
export type { InstanceLimits, InstanceCounts, CallResult, RunSpec, WorkerQuota } from "./protocol.ts";
export type { KvWrite, KvLimits } from "./kv-view.ts";
