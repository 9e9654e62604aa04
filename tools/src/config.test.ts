import { describe, expect, it } from 'vitest';
import { loadStdioConfig } from './config.ts';

describe('loadStdioConfig', () => {
  it('parses the tenant URL, token and timeout into a frozen object', () => {
    const config = loadStdioConfig({ HIGGS_URL: 'http://127.0.0.1:7070', HIGGS_TOKEN: 'hgs_secret', HIGGS_TIMEOUT_MS: '5000' });
    expect(config).toEqual({ HIGGS_URL: 'http://127.0.0.1:7070', HIGGS_TOKEN: 'hgs_secret', HIGGS_TIMEOUT_MS: 5000 });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad key and never echoes a value', () => {
    let error: unknown;
    try {
      loadStdioConfig({ HIGGS_URL: 'ftp://hgs_secret@x', HIGGS_TIMEOUT_MS: 'soon' });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'CONFIG_INVALID' });
    const message = (error as Error).message;
    for (const key of ['HIGGS_URL', 'HIGGS_TOKEN', 'HIGGS_TIMEOUT_MS']) expect(message).toContain(key);
    expect(message).not.toContain('hgs_secret');
  });
});
