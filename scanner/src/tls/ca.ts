import { randomBytes, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import * as x509 from '@peculiar/x509';
import { ScannerError } from '../errors.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** The per-node CA: its certificate (for clients to trust) and leaf contexts for MITM, cached per host. */
export interface NodeCa {
  certPem: string;
  /** a TLS server context presenting a leaf for `host`, signed by this CA */
  contextFor(host: string): Promise<SecureContext>;
}

/**
 * Leaf contexts kept at once. The name a leaf is issued for comes from the
 * client (the SNI of a redirected or tunnelled connection), so an unbounded
 * cache grew by a key pair and a context per name anyone sent; real traffic
 * names a few provider hosts. Least recently used first out.
 */
export const MAX_LEAVES = 1024;

/**
 * Loads the CA from `dataDir` (ca-cert.pem, ca-key.pem), creating and
 * persisting it on first start (key file mode 0600), so clients keep trusting
 * the same CA across restarts. `maxLeaves`: the leaf cache's bound (tests).
 */
export async function loadOrCreateCa(dataDir: string, commonName: string, opts: { maxLeaves?: number } = {}): Promise<NodeCa> {
  const maxLeaves = opts.maxLeaves ?? MAX_LEAVES;
  const certPath = join(dataDir, 'ca-cert.pem');
  const keyPath = join(dataDir, 'ca-key.pem');
  await mkdir(dataDir, { recursive: true });
  let cert: x509.X509Certificate;
  let key: CryptoKey;
  const haveCert = existsSync(certPath);
  if (haveCert !== existsSync(keyPath)) {
    throw new ScannerError('CA_INVALID', `only one of ${certPath} and ${keyPath} exists; remove both to create a new CA`);
  }
  if (haveCert) {
    try {
      cert = new x509.X509Certificate(await readFile(certPath, 'utf8'));
      key = await webcrypto.subtle.importKey('pkcs8', pemBody(await readFile(keyPath, 'utf8')), ALG, false, ['sign']) as CryptoKey;
    } catch (err) {
      throw new ScannerError('CA_INVALID', `cannot read the CA in ${dataDir}`, { cause: err });
    }
  } else {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair;
    const now = Date.now();
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${commonName}, O=Higgs`,
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + 3650 * DAY_MS),
      signingAlgorithm: ALG,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    key = keys.privateKey;
    await writeFile(keyPath, pemOf('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600, flag: 'wx' });
    await writeFile(certPath, cert.toString('pem'), { mode: 0o644, flag: 'wx' });
  }
  const caCert = cert;
  const caKey = key;
  const certPem = caCert.toString('pem');
  const leaves = new Map<string, Promise<SecureContext>>();

  async function issue(host: string): Promise<SecureContext> {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as CryptoKeyPair;
    const now = Date.now();
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${host}`,
      issuer: caCert.subject,
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + 90 * DAY_MS),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: isIP(host) ? 'ip' : 'dns', value: host }]),
        await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ],
    });
    return createSecureContext({
      cert: `${leaf.toString('pem')}\n${certPem}`,
      key: pemOf('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    });
  }

  return {
    certPem,
    contextFor(host) {
      const name = host.toLowerCase();
      let ctx = leaves.get(name);
      if (ctx) {
        // most recently used last: the map's order is the eviction order
        leaves.delete(name);
        leaves.set(name, ctx);
        return ctx;
      }
      ctx = issue(name);
      leaves.set(name, ctx);
      const issued = ctx;
      ctx.catch(() => { if (leaves.get(name) === issued) leaves.delete(name); });
      if (leaves.size > maxLeaves) leaves.delete(leaves.keys().next().value!);
      return ctx;
    },
  };
}

// positive 128-bit serial (RFC 5280 §4.1.2.2: at most 20 octets, non-negative)
function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function pemOf(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}
