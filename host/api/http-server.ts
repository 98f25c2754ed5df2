// Placeholder while the listener is being written on its branch (replaced whole by it).
import { SoloError } from "../errors.ts";
import type { Listener, ListenerOptions } from "./server.ts";

export async function startHttp(_o: ListenerOptions & { insecure?: boolean }): Promise<Listener> {
  throw new SoloError("UNAVAILABLE", "the http listener is not built yet");
}
