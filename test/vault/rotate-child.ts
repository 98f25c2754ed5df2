// A child process for the rotation crash test: opens the vault in argv[2] (finishing whatever an
// earlier rotation left) re-sealing argv[3] records per batch, prints "OPENED", then rotates.
// With argv[4] a step name ("next-key",
// "batch 2", "resealed", "promoted"), it prints "AT <step>" when that step is durable and waits
// there to be killed; without one it rotates and prints "DONE" (a random kill lands anywhere).
import { openVault } from "./open-vault.ts";

const dir = process.argv[2]!;
const batch = Number(process.argv[3]);
const stopAt = process.argv[4];
const v = await openVault(dir, {}, batch);
process.stdout.write("OPENED\n");
await v.vault.rotate(undefined, async (step) => {
  if (step !== stopAt) return;
  process.stdout.write(`AT ${step}\n`);
  await new Promise(() => {}); // held here until SIGKILL
});
process.stdout.write("DONE\n");
await v.close();
