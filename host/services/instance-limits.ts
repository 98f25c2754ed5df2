// A service's limits as the worker enforces them on its instance.
import type { InstanceLimits } from "../runtime/index.ts";
import type { ServiceLimits } from "./limits.ts";

export function instanceLimits(l: ServiceLimits): InstanceLimits {
  return {
    fuel: l.fuel,
    deadlineMs: l.deadlineMs,
    memoryBytes: l.memoryBytes,
    maxResponseBytes: l.maxResponseBytes,
    kv: { maxKeyBytes: l.kvMaxKeyBytes, maxValueBytes: l.kvMaxValueBytes, maxTotalBytes: l.kvMaxBytes },
  };
}
