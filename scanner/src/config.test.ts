import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScannerConfig } from './config.ts';
import { redirectAddressFor } from './scanner.ts';
import { ScannerError } from './errors.ts';

const base = {
  HIGGS_SCANNER_ID: 'node-1', HIGGS_DATA_DIR: '/var/lib/higgs', HIGGS_TENANT_URL: 'http://127.0.0.1:7070',
  HIGGS_SCANNER_TOKEN: 'tok', HIGGS_HASH_SALT: 'salt-salt-salt',
};

describe('loadScannerConfig', () => {
  it('parses env into frozen options with defaults', () => {
    const o = loadScannerConfig({ ...base, HIGGS_PROXY_PORT: '0', HIGGS_HOSTS_OVERRIDE: 'api.openai.com=127.0.0.1:9443', HIGGS_AI_HOSTS: 'api.openai.com, *.example.ai' });
    expect(o).toMatchObject({
      scannerId: 'node-1', proxyHost: '127.0.0.1', proxyPort: 0, policyPort: 19090, hostsOverride: { 'api.openai.com': '127.0.0.1:9443' },
      aiHosts: ['api.openai.com', '*.example.ai'], workloadsFile: null,
    });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('reads the address redirected connections go to, and refuses one that is not IPv4', () => {
    const o = loadScannerConfig({ ...base, HIGGS_PROXY_HOST: '0.0.0.0', HIGGS_KERNEL_OBSERVE: 'redirect', HIGGS_REDIRECT_ADDRESS: '10.0.3.7' });
    expect(o.kernelObservation).toMatchObject({ redirect: true, redirectAddress: '10.0.3.7' });
    expect(loadScannerConfig({ ...base, HIGGS_KERNEL_OBSERVE: 'redirect' }).kernelObservation?.redirectAddress).toBeUndefined();
    expect(() => loadScannerConfig({ ...base, HIGGS_KERNEL_OBSERVE: 'redirect', HIGGS_REDIRECT_ADDRESS: 'node-a.internal' })).toThrow(/HIGGS_REDIRECT_ADDRESS.*IPv4/);
    // without the redirect it is not used, so a node's IPv6 address (the chart sets it everywhere) starts the scanner
    expect(loadScannerConfig({ ...base, HIGGS_REDIRECT_ADDRESS: 'fd00::7' }).kernelObservation).toBeUndefined();
  });

  it('reads the MCP hosts to inspect', () => {
    expect(loadScannerConfig({ ...base, HIGGS_MCP_HOSTS: 'mcp.internal, *.mcp.example.com' }).mcpHosts).toEqual(['mcp.internal', '*.mcp.example.com']);
    expect(loadScannerConfig(base).mcpHosts).toBeUndefined();
  });

  it('reads the JWT verification keys: PEM public keys, or one HMAC secret per file; refuses unusable ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'higgs-jwt-'));
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const files = { pem: join(dir, 'idp.pem'), secret: join(dir, 'hs.key'), short: join(dir, 'short.key'), bad: join(dir, 'bad.pem') };
    writeFileSync(files.pem, pem);
    writeFileSync(files.secret, 'a-shared-secret-of-enough-length\n');
    writeFileSync(files.short, 'short');
    writeFileSync(files.bad, '-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n');
    expect(loadScannerConfig({ ...base, HIGGS_JWT_VERIFY_KEY_FILES: `${files.pem},${files.secret}` }).jwtVerifyKeys)
      .toEqual([pem.trim(), 'a-shared-secret-of-enough-length']);
    expect(loadScannerConfig(base).jwtVerifyKeys).toBeUndefined();
    expect(() => loadScannerConfig({ ...base, HIGGS_JWT_VERIFY_KEY_FILES: `${files.short},${files.bad},${join(dir, 'missing')}` }))
      .toThrow(/short[\s\S]*does not parse[\s\S]*cannot read/);
  });

  it('lists every bad key at once', () => {
    let err: unknown;
    try {
      loadScannerConfig({ ...base, HIGGS_TENANT_URL: 'not a url', HIGGS_PROXY_PORT: '70000', HIGGS_SCANNER_TOKEN: undefined });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScannerError);
    expect((err as ScannerError).code).toBe('CONFIG_INVALID');
    for (const key of ['HIGGS_TENANT_URL', 'HIGGS_PROXY_PORT', 'HIGGS_SCANNER_TOKEN']) expect((err as Error).message).toContain(key);
  });

  it('fails closed for every rule class unless a class is set open, and reads the limits', () => {
    expect(loadScannerConfig(base).enforcement).toEqual({ failModes: { pii: 'closed', injection: 'closed', content: 'closed', attribute: 'closed' }, maxBodyBytes: 8 * 1024 * 1024, evaluationBudgetUs: 200_000 });
    const c = loadScannerConfig({ ...base, HIGGS_FAIL_MODE_INJECTION: 'open', HIGGS_MAX_BODY_BYTES: '1024', HIGGS_RULES_BUDGET_US: '200' });
    expect(c.enforcement).toEqual({ failModes: { pii: 'closed', injection: 'open', content: 'closed', attribute: 'closed' }, maxBodyBytes: 1024, evaluationBudgetUs: 200 });
    expect(() => loadScannerConfig({ ...base, HIGGS_FAIL_MODE_PII: 'maybe' })).toThrow(/HIGGS_FAIL_MODE_PII/);
  });
});

describe('redirectAddressFor: where redirected connections are sent', () => {
  it('is the configured address, else the listeners\' own, else 127.0.0.1 when they listen everywhere', () => {
    expect(redirectAddressFor('0.0.0.0', '10.0.3.7')).toBe('10.0.3.7');
    expect(redirectAddressFor('10.0.3.7', undefined)).toBe('10.0.3.7');
    expect(redirectAddressFor('0.0.0.0', undefined)).toBe('127.0.0.1');
    expect(redirectAddressFor('127.0.0.1', undefined)).toBe('127.0.0.1');
  });

  it('refuses an address the listeners do not bind, and anything but IPv4', () => {
    expect(() => redirectAddressFor('127.0.0.1', '10.0.3.7')).toThrow(/not where the transparent listener listens \(127\.0\.0\.1\)/);
    expect(() => redirectAddressFor('::1', undefined)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('expected an IPv4 address') }));
  });
});
