// The certificates of mutual TLS, made on first start in <dataDir>/tls/ with @peculiar/x509 over
// Node's WebCrypto (ECDSA P-256: a key and a certificate in a few milliseconds):
//   ca.pem, ca-key.pem          the data directory's own certificate authority
//   server.pem, server-key.pem  the server: localhost, 127.0.0.1, ::1
//   admin.pem, admin-key.pem    the operator's client certificate (subject CN=admin)
// Keys are written with mode 0600. `solo certs issue NAME` adds NAME.pem / NAME-key.pem signed by
// the same CA. An operator may bring their own CA and server certificate instead (the files are
// only created when missing).
import { webcrypto } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata API first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { SoloError } from "../errors.ts";

const crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;
const CLIENT_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

export interface TlsFiles {
  dir: string;
  ca: string;
  caKey: string;
  server: string;
  serverKey: string;
  admin: string;
  adminKey: string;
}

export function tlsFiles(dataDir: string): TlsFiles {
  const dir = join(dataDir, "tls");
  return { dir, ca: join(dir, "ca.pem"), caKey: join(dir, "ca-key.pem"), server: join(dir, "server.pem"), serverKey: join(dir, "server-key.pem"), admin: join(dir, "admin.pem"), adminKey: join(dir, "admin-key.pem") };
}

function writePrivate(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey("pkcs8", key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END PRIVATE KEY-----\n`;
}

async function importKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return crypto.subtle.importKey("pkcs8", Buffer.from(b64, "base64"), ALG, false, ["sign"]);
}

interface Issued { cert: string; key: string }

async function issue(ca: { cert: x509.X509Certificate; key: CryptoKey }, subject: string, usage: "server" | "client", hosts: string[] = []): Promise<Issued> {
  const keys = await keyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (hosts.length) extensions.push(new x509.SubjectAlternativeNameExtension(hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: "ip" as const, value: h } : { type: "dns" as const, value: h }))));
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${subject}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 5 * YEAR_MS),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ALG,
    extensions,
  });
  return { cert: cert.toString("pem") + "\n", key: await keyPem(keys.privateKey) };
}

async function loadCa(files: TlsFiles): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  try {
    return { cert: new x509.X509Certificate(readFileSync(files.ca, "utf8")), key: await importKey(readFileSync(files.caKey, "utf8")) };
  } catch (err) {
    throw new SoloError("INVALID_ARGUMENT", `cannot read the certificate authority in ${files.dir} (${(err as Error).message}); give ca.pem and ca-key.pem (an ECDSA P-256 key), or move the folder away to have new ones made`);
  }
}

/** Makes whatever of the CA, server and admin files is missing; answers their paths. */
export async function ensureCertificates(dataDir: string): Promise<TlsFiles> {
  const files = tlsFiles(dataDir);
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  if (!existsSync(files.ca)) {
    const keys = await keyPair();
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: "CN=Solo data directory CA",
      keys,
      signingAlgorithm: ALG,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 10 * YEAR_MS),
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
    });
    writePrivate(files.caKey, await keyPem(keys.privateKey));
    writeFileSync(files.ca, cert.toString("pem") + "\n");
  }
  if (!existsSync(files.server) || !existsSync(files.admin)) {
    const ca = await loadCa(files);
    if (!existsSync(files.server)) {
      const s = await issue(ca, "localhost", "server", ["localhost", "127.0.0.1", "::1"]);
      writePrivate(files.serverKey, s.key);
      writeFileSync(files.server, s.cert);
    }
    if (!existsSync(files.admin)) {
      const a = await issue(ca, "admin", "client");
      writePrivate(files.adminKey, a.key);
      writeFileSync(files.admin, a.cert);
    }
  }
  return files;
}

/** A new client certificate NAME.pem / NAME-key.pem signed by the data directory's CA. */
export async function issueClientCertificate(dataDir: string, name: string): Promise<{ cert: string; key: string }> {
  if (typeof name !== "string" || !CLIENT_NAME.test(name) || ["ca", "server", "admin"].includes(name)) {
    throw new SoloError("INVALID_ARGUMENT", `a client certificate's name matches ${CLIENT_NAME} and is not ca, server or admin; got ${JSON.stringify(name)}`, { field: "name" });
  }
  const files = await ensureCertificates(dataDir);
  const cert = join(files.dir, `${name}.pem`);
  const key = join(files.dir, `${name}-key.pem`);
  if (existsSync(cert)) throw new SoloError("ALREADY_EXISTS", `${cert} exists; pick another name or remove it first`, { field: "name" });
  const issued = await issue(await loadCa(files), name, "client");
  writePrivate(key, issued.key);
  writeFileSync(cert, issued.cert);
  return { cert, key };
}
