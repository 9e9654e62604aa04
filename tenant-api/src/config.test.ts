import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_UI_DIR, loadConfig, parseTenantOptions } from './config.ts';
import { TenantError } from './errors.ts';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof TenantError ? err.code : 'not a TenantError';
  }
  return undefined;
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1', port: 7070, dataDir: '.higgs/data', uiDir: DEFAULT_UI_DIR, allowedOrigins: [],
      baseline: { namespaces: [], providers: [] }, adminToken: undefined, scannerToken: undefined,
    });
    expect(DEFAULT_UI_DIR).toMatch(/ui[/\\]dist[/\\]?$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad key by its env name', () => {
    let message = '';
    try {
      loadConfig({ HIGGS_TENANT_PORT: 'eighty', HIGGS_ADMIN_TOKEN: 'short', HIGGS_ALLOWED_ORIGINS: 'not a url' });
    } catch (err) {
      expect(err).toBeInstanceOf(TenantError);
      expect((err as TenantError).code).toBe('CONFIG_INVALID');
      message = (err as Error).message;
    }
    expect(message).toContain('HIGGS_TENANT_PORT');
    expect(message).toContain('HIGGS_ADMIN_TOKEN');
    expect(message).toContain('HIGGS_ALLOWED_ORIGINS');
  });

  it('reads the governance baseline file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'higgs-cfg-'));
    dirs.push(dir);
    const file = join(dir, 'baseline.json');
    await writeFile(file, JSON.stringify({ sanctioned: { namespaces: ['payments'], providers: ['openai', 'api.anthropic.com'] } }));
    expect(loadConfig({ HIGGS_BASELINE_FILE: file }).baseline).toEqual({ namespaces: ['payments'], providers: ['openai', 'api.anthropic.com'] });
    await writeFile(file, JSON.stringify({ namespaces: ['payments'] }));
    expect(codeOf(() => loadConfig({ HIGGS_BASELINE_FILE: file }))).toBe('BASELINE_INVALID');
    expect(codeOf(() => loadConfig({ HIGGS_BASELINE_FILE: join(dir, 'missing.json') }))).toBe('BASELINE_INVALID');
  });

  it('parses comma-separated origins and a numeric port', () => {
    const config = loadConfig({ HIGGS_TENANT_PORT: '0', HIGGS_ALLOWED_ORIGINS: 'http://a.test:1, http://b.test:2' });
    expect(config.port).toBe(0);
    expect(config.allowedOrigins).toEqual(['http://a.test:1', 'http://b.test:2']);
  });
  it('selects real stores by URL, and never echoes a URL (it may hold a password) in an error', () => {
    const config = loadConfig({ HIGGS_POSTGRES_URL: 'postgres://higgs:pw@db.internal:5432/higgs', HIGGS_CLICKHOUSE_URL: 'http://ch.internal:8123/higgs' });
    expect(config).toMatchObject({ postgresUrl: 'postgres://higgs:pw@db.internal:5432/higgs', clickhouseUrl: 'http://ch.internal:8123/higgs' });
    expect(loadConfig({})).toMatchObject({ postgresUrl: undefined, clickhouseUrl: undefined });
    let message = '';
    try {
      loadConfig({ HIGGS_POSTGRES_URL: 'mysql://u:secret-pw@h/db', HIGGS_CLICKHOUSE_URL: 'tcp://u:secret-pw@h:9000' });
    } catch (err) {
      expect((err as TenantError).code).toBe('CONFIG_INVALID');
      message = (err as Error).message;
    }
    expect(message).toContain('HIGGS_POSTGRES_URL');
    expect(message).toContain('HIGGS_CLICKHOUSE_URL');
    expect(message).not.toContain('secret-pw');
  });
});

describe('parseTenantOptions', () => {
  it('validates programmatic options the same way', () => {
    expect(parseTenantOptions({ port: 0, dataDir: 'memory://' })).toMatchObject({ port: 0, dataDir: 'memory://', host: '127.0.0.1' });
    expect(codeOf(() => parseTenantOptions({ port: -1 }))).toBe('CONFIG_INVALID');
  });
});
