import { describe, expect, it } from 'vitest';
import { argsHash } from './args-hash.ts';

describe('argsHash', () => {
  it('is the same for the same args in any key order', () => {
    expect(argsHash('quarantine_namespace', { namespace: 'ml', reason: 'r' }))
      .toBe(argsHash('quarantine_namespace', { reason: 'r', namespace: 'ml' }));
  });

  it('changes when an argument or the tool changes', () => {
    const h = argsHash('quarantine_namespace', { namespace: 'ml', reason: 'r' });
    expect(argsHash('quarantine_namespace', { namespace: 'ml2', reason: 'r' })).not.toBe(h);
    expect(argsHash('add_inline_rule', { namespace: 'ml', reason: 'r' })).not.toBe(h);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
  });
});
