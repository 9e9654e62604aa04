import { describe, expect, it } from 'vitest';
import { loadLauncherConfig } from './config.ts';

describe('launcher config', () => {
  it('defaults to the embedded stack on loopback', () => {
    const c = loadLauncherConfig({});
    expect(c).toMatchObject({ host: '127.0.0.1', tenantPort: 7070, proxyPort: 7080, policyPort: 7081, traffic: true });
    expect(c.home.endsWith('.higgs')).toBe(true);
  });

  it('parses booleans strictly and names every bad key', () => {
    expect(loadLauncherConfig({ HIGGS_DEMO_TRAFFIC: 'false' }).traffic).toBe(false);
    let caught: unknown;
    try {
      loadLauncherConfig({ HIGGS_DEMO_TRAFFIC: 'no', HIGGS_TENANT_PORT: '99999' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(String((caught as Error).message)).toMatch(/HIGGS_DEMO_TRAFFIC[\s\S]*HIGGS_TENANT_PORT|HIGGS_TENANT_PORT[\s\S]*HIGGS_DEMO_TRAFFIC/);
  });
});
