export { AUDIT_COMPONENTS, AUDIT_THRESHOLDS, Auditor, type AuditComponent, type AuditComponentName, type AuditOptions, type AuditReport, type AuditSources, type AuditStatus } from "./audit.ts";
