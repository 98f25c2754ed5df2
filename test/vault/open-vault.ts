// A vault over a real RocksDB (no host, no workers): what the vault tests and the rotation crash
// child open. `dir` is the data directory: the database in dir/db, master.key beside it.
import { join } from "node:path";
import { EventStore, type SoloEvent } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";
import { Vault } from "../../host/vault/index.ts";

export interface OpenVault {
  vault: Vault;
  storage: Storage;
  events: EventStore;
  close(): Promise<void>;
}

export async function openVault(dir: string, env: NodeJS.ProcessEnv = {}, resealBatch?: number): Promise<OpenVault> {
  const storage = await Storage.open(join(dir, "db"));
  try {
    const events = await EventStore.open(storage);
    const vault = await Vault.open({ storage, events, dataDir: dir, env, resealBatch });
    return {
      vault, storage, events,
      async close() {
        events.close();
        await storage.close();
      },
    };
  } catch (err) {
    await storage.close();
    throw err;
  }
}

/** Every event of the log (all tenants), as stored. */
export async function allEvents(events: { stream(): AsyncGenerator<SoloEvent> }): Promise<SoloEvent[]> {
  const out: SoloEvent[] = [];
  for await (const e of events.stream()) out.push(e);
  return out;
}
