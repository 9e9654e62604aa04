import { describe, expect, it } from 'vitest';
import { principalKind, roleAllows } from './roles.ts';

describe('roleAllows', () => {
  it('orders viewer < compliance, platform < security < admin', () => {
    expect(roleAllows('viewer', 'viewer')).toBe(true);
    expect(roleAllows('viewer', 'compliance')).toBe(false);
    expect(roleAllows('compliance', 'viewer')).toBe(true);
    expect(roleAllows('platform', 'viewer')).toBe(true);
    expect(roleAllows('security', 'compliance')).toBe(true);
    expect(roleAllows('security', 'platform')).toBe(true);
    expect(roleAllows('security', 'admin')).toBe(false);
    expect(roleAllows('admin', 'security')).toBe(true);
  });

  it('treats compliance and platform as peers, neither satisfying the other', () => {
    expect(roleAllows('compliance', 'platform')).toBe(false);
    expect(roleAllows('platform', 'compliance')).toBe(false);
    expect(roleAllows('compliance', 'security')).toBe(false);
    expect(roleAllows('platform', 'security')).toBe(false);
  });

  it('gives admin every human role', () => {
    for (const least of ['viewer', 'compliance', 'platform', 'security', 'admin'] as const) {
      expect(roleAllows('admin', least)).toBe(true);
    }
  });

  it('never ranks machine roles', () => {
    expect(roleAllows('agent', 'viewer')).toBe(false);
    expect(roleAllows('scanner', 'viewer')).toBe(false);
    expect(roleAllows('admin', 'agent')).toBe(false);
  });
});

describe('principalKind', () => {
  it('takes the more restrictive of kind and role', () => {
    const base = { id: 'p', tenantId: 't', name: 'n' };
    expect(principalKind({ ...base, kind: 'human', role: 'admin' })).toBe('human');
    expect(principalKind({ ...base, kind: 'human', role: 'agent' })).toBe('agent');
    expect(principalKind({ ...base, kind: 'agent', role: 'admin' })).toBe('agent');
    expect(principalKind({ ...base, kind: 'human', role: 'scanner' })).toBe('scanner');
  });
});
