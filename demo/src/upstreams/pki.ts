import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** Names the mock upstream's certificate answers for: the real provider hosts plus loopback. */
export const UPSTREAM_DNS_NAMES = ['api.openai.com', 'api.anthropic.com', 'bedrock-runtime.us-east-1.amazonaws.com', 'generativelanguage.googleapis.com',
  // one-label wildcard: the Azure OpenAI resource name is the customer's
  '*.openai.azure.com', 'api.mistral.ai', 'api.together.xyz', 'api.together.ai', 'api.cohere.com', 'localhost'] as const;
export const UPSTREAM_IP_ADDRESSES = ['127.0.0.1'] as const;

export interface DemoPki {
  caCertPem: string;
  /** leaf certificate followed by nothing else: clients must trust `caCertPem` */
  certPem: string;
  keyPem: string;
}

const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
// 1 h back-dating absorbs clock skew between the demo processes and the CI host.
const BACKDATE_MS = 60 * 60 * 1000;
const VALIDITY_MS = 365 * 24 * 60 * 60 * 1000;

// @peculiar/x509 picks up Node's global webcrypto (Node >= 19) as its default provider.

/**
 * Generates, in memory, a fresh demo CA and one server certificate signed by
 * it for the provider hostnames, so the mock upstreams can serve real TLS to
 * the official SDKs and to the scanner's proxy. Nothing touches disk.
 */
export async function generateDemoPki(): Promise<DemoPki> {
  const subtle = webcrypto.subtle;
  const notBefore = new Date(Date.now() - BACKDATE_MS);
  const notAfter = new Date(notBefore.getTime() + VALIDITY_MS);

  const caKeys = (await subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=Higgs Demo Upstreams CA, O=Higgs Demo',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leafKeys = (await subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${UPSTREAM_DNS_NAMES[0]}, O=Higgs Demo`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...UPSTREAM_DNS_NAMES.map((value) => ({ type: 'dns' as const, value })),
        ...UPSTREAM_IP_ADDRESSES.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
    ],
  });

  const pkcs8 = await subtle.exportKey('pkcs8', leafKeys.privateKey);
  return {
    caCertPem: ca.toString('pem'),
    certPem: leaf.toString('pem'),
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  // a positive INTEGER: clear the top bit so DER does not read it as negative
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
