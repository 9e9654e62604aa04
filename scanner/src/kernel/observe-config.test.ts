import { describe, expect, it } from 'vitest';
import { loadScannerConfig } from '../config.ts';

const base = {
  HIGGS_SCANNER_ID: 'node-1', HIGGS_DATA_DIR: '/var/lib/higgs', HIGGS_TENANT_URL: 'http://127.0.0.1:7070',
  HIGGS_SCANNER_TOKEN: 'tok', HIGGS_HASH_SALT: 'salt-salt-salt',
};

describe('kernel observation from the environment', () => {
  it('is off unless HIGGS_KERNEL_OBSERVE names something', () => {
    expect(loadScannerConfig(base).kernelObservation).toBeUndefined();
    expect(loadScannerConfig({ ...base, HIGGS_KERNEL_OBSERVE: '' }).kernelObservation).toBeUndefined();
  });

  it('turns on the named primitives, with provider addresses, CIDRs, binaries and listener ports', () => {
    const o = loadScannerConfig({
      ...base, HIGGS_KERNEL_OBSERVE: 'tls, flows,redirect', HIGGS_PROVIDER_ADDRESSES: '127.0.9.1=API.openai.com,::1=api.anthropic.com',
      HIGGS_PROVIDER_CIDRS: '10.9.0.0/16', HIGGS_REDIRECT_TLS_PORT: '8443', HIGGS_REDIRECT_PLAIN_PORT: '0', HIGGS_TLS_BINARIES: process.execPath,
    });
    expect(o.kernelObservation).toEqual({
      tls: [process.execPath], flows: true, redirect: true, providerAddresses: { '127.0.9.1': 'api.openai.com', '::1': 'api.anthropic.com' },
      providerCidrs: ['10.9.0.0/16'], redirectTlsPort: 8443, redirectPlainPort: 0,
    });
    expect(loadScannerConfig({ ...base, HIGGS_KERNEL_OBSERVE: 'flows' }).kernelObservation).toEqual({ tls: false, flows: true, redirect: false, providerAddresses: {} });
    expect(loadScannerConfig({ ...base, HIGGS_KERNEL_OBSERVE: 'tls' }).kernelObservation?.tls).toBe(true);
  });

  it('refuses unknown primitives, malformed addresses and missing binaries, naming the key', () => {
    expect(() => loadScannerConfig({ ...base, HIGGS_KERNEL_OBSERVE: 'tls,sniff' })).toThrow(/HIGGS_KERNEL_OBSERVE.*expected tls, flows or redirect/);
    expect(() => loadScannerConfig({ ...base, HIGGS_KERNEL_OBSERVE: 'flows', HIGGS_PROVIDER_ADDRESSES: 'api.openai.com=1.2.3.4' })).toThrow(/HIGGS_PROVIDER_ADDRESSES: "api.openai.com=1.2.3.4" is not ip=hostname/);
    expect(() => loadScannerConfig({ ...base, HIGGS_KERNEL_OBSERVE: 'tls', HIGGS_TLS_BINARIES: '/nonexistent/libssl.so.3' })).toThrow(/HIGGS_TLS_BINARIES/);
    expect(() => loadScannerConfig({ ...base, HIGGS_REDIRECT_TLS_PORT: '70000' })).toThrow(/HIGGS_REDIRECT_TLS_PORT/);
  });
});
