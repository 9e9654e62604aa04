import { describe, expect, it } from 'vitest';
import { argsHash, canonicalJson } from './canonical-json.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } }))
      .toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('drops undefined members like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
  });
});

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
