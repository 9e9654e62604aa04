import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScannerConfig } from './config.ts';
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
