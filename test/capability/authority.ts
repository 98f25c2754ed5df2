// Test helpers: a real Storage + EventStore + Capabilities in a temp dir, a clock tests drive,
// and keyless token surgery (what any holder of a token can do without the host).
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Capabilities } from "../../host/capability/index.ts";
import { EventStore } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";

export const T0 = Date.UTC(2030, 0, 1);

export interface Authority {
  caps: Capabilities;
  storage: Storage;
  events: EventStore;
  dir: string;
  keyFile: string;
  clock: { now: number };
  /** Closes the store and opens it again (same dir, key and clock). */
  reopen(keyFile?: string): Promise<void>;
  close(): Promise<void>;
}

export async function openAuthority(dir = mkdtempSync(join(tmpdir(), "solo-cap-")), keyFile = join(dir, "keys", "root.key")): Promise<Authority> {
  const clock = { now: T0 };
  const a: Authority = {
    dir,
    keyFile,
    clock,
    storage: await Storage.open(join(dir, "db")),
    events: undefined!,
    caps: undefined!,
    async reopen(k = keyFile) {
      await a.storage.close();
      a.storage = await Storage.open(join(dir, "db"));
      a.events = await EventStore.open(a.storage);
      a.caps = await Capabilities.open({ storage: a.storage, events: a.events, keyFile: k, now: () => clock.now });
    },
    async close() {
      await a.storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  a.events = await EventStore.open(a.storage);
  a.caps = await Capabilities.open({ storage: a.storage, events: a.events, keyFile, now: () => clock.now });
  return a;
}

/** The token's dot-separated parts after "solo_": grant id, caveats..., signature. */
export const parts = (token: string) => token.slice("solo_".length).split(".");
export const join_ = (ps: string[]) => "solo_" + ps.join(".");
export const caveat = (text: string) => Buffer.from(text, "latin1").toString("base64url");

/** Appends a caveat of any text with a correct MAC, as a holder can without the key. */
export function appendCaveat(token: string, text: string): string {
  const ps = parts(token);
  const sig = Buffer.from(ps.pop()!, "base64url");
  const next = createHmac("sha256", sig).update(Buffer.from(text, "latin1")).digest();
  return join_([...ps, caveat(text), next.toString("base64url")]);
}
