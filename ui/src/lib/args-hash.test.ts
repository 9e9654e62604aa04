import { describe, expect, it } from 'vitest';
import { canonicalJson } from '@higgs/schema';
import { argsHash } from './args-hash.ts';

describe('argsHash', () => {
  // vectors produced by argsHash in tools/src/canonical-json.ts (the tenant's side of the approval check)
  it('matches the tools package for a simple proposal', async () => {
    expect(await argsHash('block_from_finding', { findingId: 'f-1' })).toBe('6c41943c820807bd8907a982d3023f2906fa5c8f4a640e8573697082466e1b0b');
  });

  it('matches the tools package with nested keys out of order, quotes and non-ASCII text', async () => {
    const args = { name: 'Block SSN ✓', action: 'block', match: { promptContains: ['a"b'], piiTypes: ['ssn'] }, reason: '' };
    expect(await argsHash('add_inline_rule', args)).toBe('cbcbd596418fef280079bae9c43cdb453c6fdbb11701fab50affaa974f4d9f7a');
  });

  it('changes when any argument changes', async () => {
    expect(await argsHash('block_from_finding', { findingId: 'f-2' })).not.toBe(await argsHash('block_from_finding', { findingId: 'f-1' }));
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });
});
