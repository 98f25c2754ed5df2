import { test } from "../helpers.ts";
import { join } from "node:path";
import { EventStore } from "../../host/events/index.ts";
import { Storage } from "../../host/storage/index.ts";
import { eventStoreContract } from "./contract.ts";

eventStoreContract("rocksdb", async (dir) => {
  const storage = await Storage.open(join(dir, "db"));
  const store = await EventStore.open(storage);
  return {
    store,
    async close() {
      store.close();
      await storage.close();
    },
  };
});

test.run();
