import { describe, expect, it } from 'vitest';
import { IngestBatch, RuleMatch, ToolContracts } from './index.ts';

describe('schema', () => {
  it('rejects a rule that matches on nothing', () => {
    const r = RuleMatch.safeParse({});
    expect(r.success).toBe(false);
  });

  it('accepts a rule on PII types and an injection threshold', () => {
    expect(RuleMatch.parse({ piiTypes: ['ssn'], injectionScoreGte: 50 })).toEqual({ piiTypes: ['ssn'], injectionScoreGte: 50 });
  });

  it('names the failing field of a malformed ingest batch', () => {
    const r = IngestBatch.safeParse({ scannerId: 's1', events: [{ kind: 'llm_call', event: { id: 'bad id!' } }] });
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues[0]?.path.slice(0, 4)).toEqual(['events', 0, 'event', 'id']);
  });

  it('defines an input and output contract for every tool', () => {
    for (const [name, c] of Object.entries(ToolContracts)) {
      expect(name).toMatch(/^[a-z_]+$/);
      expect(c.input).toBeDefined();
      expect(c.output).toBeDefined();
    }
  });
});
