// `solo events [TENANT]`: the stored events (an admin may leave the tenant out: every tenant), then
// live ones with --follow until Ctrl-C. --json prints one JSON line per event, so a consumer can
// resume after the last id it saw (--after ID).
import type { SoloEvent } from "../events/types.ts";
import { positiveInt, printStream } from "./common.ts";
import { withClient, type ConnectOptions } from "./connect.ts";

export interface EventsOptions extends ConnectOptions {
  follow?: boolean;
  after?: string;
  type?: string;
  service?: string;
  limit?: string;
}

function line(e: SoloEvent): string {
  const data = Object.keys(e.data ?? {}).length ? ` ${JSON.stringify(e.data)}` : "";
  return `${e.id} ${e.time} ${e.tenant}${e.service ? `/${e.service}` : ""} ${e.type} by ${e.actor}${data}\n`;
}

export async function events(tenant: string | undefined, o: EventsOptions): Promise<number> {
  const limit = positiveInt("limit", o.limit);
  return withClient(o, async (c) => {
    const stream = c.events({ ...(tenant && { tenant }), ...(o.service && { service: o.service }), ...(o.type && { type: o.type }), ...(o.after && { after: o.after }), ...(o.follow && { follow: true }), ...(limit && { limit }) });
    return printStream(stream, o.json, line);
  });
}
