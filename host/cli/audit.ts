// `solo audit`: the host's health over the network (an admin token). The exit code follows the
// status, past the codes every verb already uses (1 = a Solo error, 2 = usage): 0 healthy,
// 3 degraded, 4 failing; so a cron job or a probe can act on it without parsing.
import type { AuditReport, AuditStatus } from "../audit/index.ts";
import { printJson } from "./common.ts";
import { withClient, type ConnectOptions } from "./connect.ts";

export const AUDIT_EXIT: Record<AuditStatus, number> = { healthy: 0, degraded: 3, failing: 4 };

export interface AuditCliOptions extends ConnectOptions {
  full?: boolean;
}

/** The report for a person: the status, then one line per component, worst first. */
export function formatAudit(r: AuditReport): string {
  const order: Record<AuditStatus, number> = { failing: 0, degraded: 1, healthy: 2 };
  const lines = [`${r.status} (${r.checkedAt}, ${r.durationMs} ms)`];
  const entries = Object.entries(r.components).sort((a, b) => order[a[1].status] - order[b[1].status]);
  const width = Math.max(...entries.map(([n]) => n.length));
  for (const [name, c] of entries) lines.push(`  ${name.padEnd(width)}  ${c.status.padEnd(8)}  ${c.summary}`);
  return lines.join("\n") + "\n";
}

export async function audit(o: AuditCliOptions): Promise<number> {
  return withClient(o, async (c) => {
    const r = await c.audit({ full: o.full === true });
    if (o.json) printJson(r);
    else process.stdout.write(formatAudit(r));
    return AUDIT_EXIT[r.status];
  });
}
