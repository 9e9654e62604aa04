import { describe, expect, it } from 'vitest';
import { groundedness } from './grounding.ts';

const results = [
  { finding: { id: 'fnd-7f3a', count: 7, firstSeen: '2025-03-03T09:12:00.000Z', evidence: { model: 'gpt-4o-mini', users: ['alice'] } } },
  { proposal: { id: 'prop_42', title: 'Block PII egress' } },
];

describe('groundedness', () => {
  it('scores an answer whose ids, numbers and quoted values all come from the results as fully grounded', () => {
    const g = groundedness(
      'Finding `fnd-7f3a` was seen in 7 calls by `alice` on gpt-4o-mini, first 2025-03-03T09:12:00.000Z. Proposed as prop_42.',
      results,
    );
    expect(g.ungrounded).toEqual([]);
    expect(g.claims).toEqual(expect.arrayContaining(['fnd-7f3a', '7', 'alice', 'gpt-4o-mini', '2025-03-03T09:12:00.000Z', 'prop_42']));
    expect(g.score).toBe(1);
  });

  it('flags an invented number, id or quoted value', () => {
    const g = groundedness('Finding `fnd-9999` was seen in 12 calls by `bob`; see prop_43.', results);
    expect(g.ungrounded).toEqual(['fnd-9999', 'bob', '12', 'prop_43']);
    expect(g.score).toBe(0);
  });

  it('does not count a number as grounded because it occurs inside a longer one', () => {
    // 4 occurs only inside "gpt-4o-mini" and "prop_42"; 2025 only inside a timestamp
    expect(groundedness('There were 4 calls in 2025.', results).ungrounded).toEqual(['4', '2025']);
  });

  it('checks a timestamp as one claim, not as its parts', () => {
    expect(groundedness('Last seen 2025-03-03T09:12:00.000Z.', results).claims).toEqual(['2025-03-03T09:12:00.000Z']);
    expect(groundedness('Last seen 2025-03-03T09:13:00.000Z.', results).score).toBe(0);
  });

  it('treats an answer with no ids or numbers as grounded', () => {
    expect(groundedness('I can only propose actions; a person approves them.', results)).toEqual({ score: 1, claims: [], ungrounded: [] });
  });

  it('reads a value quoted with a longer fence because it holds backticks', () => {
    const g = groundedness('User `` a`b `` and `alice`.', [{ users: ['a`b', 'alice'] }]);
    expect(g.claims).toEqual(['a`b', 'alice']);
    expect(g.score).toBe(1);
  });

  it('gives a partial score when some claims are grounded', () => {
    expect(groundedness('`alice` made 9 calls.', results).score).toBe(0.5);
  });
});
