// `solo logs TENANT [SERVICE]`: the guest log lines the server keeps in memory (the last 200 a
// service; --tail N for fewer), then, with --follow, new ones until Ctrl-C. Without SERVICE, every
// service of the tenant the token covers. Lines are kept in memory only: a server restart
// forgets them. --json prints one JSON line per log line ({tenant,service,level,message,at}).
import type { LogLine } from "../logs/index.ts";
import { printStream, UsageError } from "./common.ts";
import { withClient, type ConnectOptions } from "./connect.ts";

export interface LogsCliOptions extends ConnectOptions {
  follow?: boolean;
  tail?: string;
}

/** `2026-11-30T18:00:00.000Z tenant/service info message`. */
export function logLine(l: LogLine): string {
  return `${l.at} ${l.tenant}/${l.service} ${l.level} ${l.message}\n`;
}

export async function logs(tenant: string, service: string | undefined, o: LogsCliOptions): Promise<number> {
  let tail: number | undefined;
  if (o.tail !== undefined) {
    if (!/^\d+$/.test(o.tail) || !Number.isSafeInteger(Number(o.tail))) throw new UsageError(`--tail must be a whole number of lines (0: only new ones), got ${JSON.stringify(o.tail)}`);
    tail = Number(o.tail);
  }
  return withClient(o, async (c) => {
    const stream = c.logs({ tenant, ...(service && { service }), ...(o.follow && { follow: true }), ...(tail !== undefined && { tail }) });
    return printStream(stream, o.json, logLine);
  });
}
