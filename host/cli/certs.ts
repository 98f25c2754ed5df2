// `solo certs issue NAME`: a client certificate signed by the data directory's CA, for a machine
// or person that will hold its own token. Local: works on the files, with or without a server.
import { EXIT, printJson } from "./common.ts";

export async function certsIssue(name: string, o: { data: string; json?: boolean }): Promise<number> {
  const { issueClientCertificate } = await import("../api/certs.ts");
  const files = await issueClientCertificate(o.data, name);
  if (o.json) printJson(files);
  else process.stdout.write(`${files.cert}\n${files.key}\n`);
  return EXIT.ok;
}
