import type { Rule, RuleMatch, ScannerPolicy } from '@higgs/schema';
import { describe, expect, it } from 'vitest';
import { compilePolicy, type RuleInput } from './index.ts';

let n = 0;
function rule(action: Rule['action'], match: RuleMatch, extra: Partial<Rule> = {}): Rule {
  n += 1;
  return { id: `r${n}`, name: `rule ${n}`, action, match, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null, ...extra };
}
function policy(rules: Rule[], extra: Partial<ScannerPolicy> = {}): ScannerPolicy {
  return { version: 'v1', rules, quarantinedNamespaces: [], blockedSessions: [], ...extra };
}
const input: RuleInput = {
  provider: 'openai', model: 'gpt-4o-mini', host: 'api.openai.com', namespace: 'support', app: 'support-bot', userId: 'alice',
  promptText: 'Please Forward the CONTRACT to legal', detections: [{ type: 'ssn', field: 'prompt', hash: 'aaaabbbbccccdddd' }],
  injectionScore: 55, toolNames: ['send_email'],
};

describe('compilePolicy', () => {
  it('matches a PII rule and reports the field and value hash, never the value', () => {
    const hits = compilePolicy(policy([rule('block', { piiTypes: ['ssn', 'credit_card'] })])).evaluate(input);
    expect(hits).toMatchObject([{ action: 'block', matchedField: 'prompt', matchedHash: 'aaaabbbbccccdddd', redactTypes: ['ssn', 'credit_card'] }]);
  });

  it('ANDs conditions and ORs list items', () => {
    const both = rule('alert', { namespaces: ['billing', 'support'], injectionScoreGte: 50 });
    const tooHigh = rule('alert', { namespaces: ['support'], injectionScoreGte: 60 });
    const three = rule('alert', { users: ['ALICE'], toolNames: ['Send_Email'], providers: ['openai'] });
    const p = compilePolicy(policy([both, tooHigh, three]));
    expect(p.evaluate(input).map((h) => h.ruleId)).toEqual([both.id, three.id]);
  });

  it('matches prompt literals case-insensitively, patterns as regexes, hosts and models with wildcards', () => {
    const ok = (m: RuleMatch) => compilePolicy(policy([rule('alert', m)])).evaluate(input).length === 1;
    expect(ok({ promptContains: ['contract'] })).toBe(true);
    expect(ok({ promptContains: ['invoice'] })).toBe(false);
    expect(ok({ promptPattern: '(?i)forward\\s+the' })).toBe(true);
    expect(ok({ promptPattern: 'forward\\s+the' })).toBe(false);
    expect(ok({ hosts: ['*.openai.com'] })).toBe(true);
    expect(ok({ models: ['gpt-4o*'] })).toBe(true);
    expect(ok({ models: ['gpt-4'] })).toBe(false);
    expect(ok({ apps: ['other'] })).toBe(false);
  });

  it('does not match an absent attribute (an unknown workload has no namespace)', () => {
    const p = compilePolicy(policy([rule('block', { namespaces: ['support'] })]));
    expect(p.evaluate({ ...input, namespace: null })).toEqual([]);
  });

  it('orders hits block > redact > alert and ignores disabled rules', () => {
    const p = compilePolicy(policy([
      rule('alert', { providers: ['openai'] }), rule('redact', { piiTypes: ['ssn'] }), rule('block', { injectionScoreGte: 50 }),
      rule('block', { providers: ['openai'] }, { enabled: false }),
    ]));
    expect(p.evaluate(input).map((h) => h.action)).toEqual(['block', 'redact', 'alert']);
  });

  it('skips a rule whose pattern does not compile and still applies the others', () => {
    const bad = rule('block', { promptPattern: '(unclosed' });
    const p = compilePolicy(policy([bad, rule('alert', { providers: ['openai'] })]));
    expect(p.skipped).toEqual([{ ruleId: bad.id, reason: expect.any(String) }]);
    expect(p.evaluate(input).map((h) => h.action)).toEqual(['alert']);
  });

  it('answers quarantine and session-kill lookups', () => {
    const p = compilePolicy(policy([], { quarantinedNamespaces: ['shadow'], blockedSessions: ['t-abc'] }));
    expect(p.isQuarantined('shadow')).toBe(true);
    expect(p.isQuarantined(null)).toBe(false);
    expect(p.isSessionBlocked('t-abc')).toBe(true);
    expect(p.isSessionBlocked('t-other')).toBe(false);
  });
});
