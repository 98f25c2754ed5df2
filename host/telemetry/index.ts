export { NOOP_TELEMETRY, type BreakerState, type Telemetry } from "./telemetry.ts";
export { Metrics, PROMETHEUS_CONTENT_TYPE, type MetricsOptions, type MetricsSample } from "./metrics.ts";
export { OTHER, TenantLabels, type TenantLabelOptions } from "./tenant-labels.ts";
