// What the SIGKILL swap test checks in the host it reopens.
import type { Host } from "../../host/index.ts";

export async function verifyChain(host: Host): Promise<boolean> {
  return (await host.verifyEvents()).ok;
}
