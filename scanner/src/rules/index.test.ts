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
    expect(hits).toMatchObject([{ action: 'block', matchedField: 'prompt', matchedHash: 'aaaabbbbccccdddd', matchedText: null, redactTypes: ['ssn', 'credit_card'] }]);
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

  it('rejects patterns RE2 cannot run in linear time (back-references, look-around) and reports them', () => {
    const backref = rule('block', { promptPattern: '(a+)\\1' });
    const lookahead = rule('block', { responsePattern: 'foo(?=bar)' });
    const toolIn = rule('block', { toolInputPattern: '(?<!x)y' });
    const p = compilePolicy(policy([backref, lookahead, toolIn, rule('alert', { providers: ['openai'] })]));
    expect(p.skipped.map((s) => s.ruleId)).toEqual([backref.id, lookahead.id, toolIn.id]);
    expect(p.skipped[0]!.reason).toContain('promptPattern');
    expect(p.evaluate(input).map((h) => h.action)).toEqual(['alert']);
  });

  it('runs a catastrophic-backtracking pattern in linear time', () => {
    const p = compilePolicy(policy([rule('block', { promptPattern: '^(a+)+$' })]));
    const t0 = performance.now();
    expect(p.evaluate({ ...input, promptText: `${'a'.repeat(20_000)}!` })).toEqual([]);
    // a backtracking engine takes longer than the age of the universe here; RE2 takes milliseconds
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('reports the literal or pattern text that matched, for the caller to hash', () => {
    const p = compilePolicy(policy([rule('block', { promptContains: ['nothing', 'CONTRACT'] }), rule('alert', { promptPattern: 'to\\s+\\w+$' })]));
    expect(p.evaluate(input).map((h) => [h.matchedField, h.matchedText])).toEqual([['prompt', 'CONTRACT'], ['prompt', 'to legal']]);
  });

  it('matches tool inputs and tool results with their own patterns', () => {
    const p = compilePolicy(policy([rule('block', { toolInputPattern: 'rm\\s+-rf' }), rule('alert', { toolOutputPattern: '(?i)password' })]));
    expect(p.evaluate(input)).toEqual([]);
    const hits = p.evaluate({ ...input, toolInputText: '{"cmd":"rm -rf /"}', toolOutputText: 'PASSWORD=x' });
    expect(hits.map((h) => [h.action, h.matchedField, h.matchedText])).toEqual([['block', 'tool_input', 'rm -rf'], ['alert', 'tool_output', 'PASSWORD']]);
  });

  it('agrees with a rule-by-rule reference evaluation over many indexed rules', () => {
    const namespaces = ['support', 'billing', 'research'];
    const words = ['contract', 'invoice', 'legal', 'forward', 'secret'];
    const rules: Rule[] = [];
    for (let i = 0; i < 300; i++) {
      const m: RuleMatch = {};
      if (i % 2 === 0) m.namespaces = [namespaces[i % 3]!];
      if (i % 3 === 0) m.promptContains = [words[i % 5]!, `${words[(i + 1) % 5]!}-${i}`];
      if (i % 5 === 0) m.users = [i % 10 === 0 ? 'alice' : 'bob'];
      if (i % 7 === 0) m.piiTypes = ['ssn'];
      if (i % 11 === 0) m.injectionScoreGte = i % 100;
      if (Object.keys(m).length === 0) m.providers = [i % 4 === 0 ? 'openai' : 'anthropic'];
      rules.push(rule((['block', 'redact', 'alert'] as const)[i % 3]!, m));
    }
    const reference = (i: RuleInput): string[] => rules.filter((r) => {
      const m = r.match;
      return (!m.namespaces || m.namespaces.includes(i.namespace ?? ''))
        && (!m.promptContains || m.promptContains.some((w) => i.promptText.toLowerCase().includes(w)))
        && (!m.users || m.users.includes(i.userId ?? ''))
        && (!m.piiTypes || i.detections.some((d) => m.piiTypes!.includes(d.type)))
        && (m.injectionScoreGte === undefined || i.injectionScore >= m.injectionScoreGte)
        && (!m.providers || m.providers.includes(i.provider));
    }).map((r) => r.id).sort();
    const p = compilePolicy(policy(rules));
    for (const namespace of [...namespaces, null]) {
      for (const promptText of ['a contract for legal', 'SECRET-12 and invoice-3', 'nothing at all']) {
        for (const detections of [[], input.detections]) {
          const i = { ...input, namespace, promptText, detections };
          const got = p.evaluate(i);
          expect(got.map((h) => h.ruleId).sort()).toEqual(reference(i));
          const ranks = got.map((h) => ({ block: 0, redact: 1, alert: 2 })[h.action]);
          expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
        }
      }
    }
  });

  it('reports rules it cannot decide: unavailable detector input, a passed deadline', () => {
    const pii = rule('block', { piiTypes: ['ssn'] });
    const inj = rule('block', { injectionScoreGte: 10 });
    const attr = rule('alert', { providers: ['openai'] });
    const p = compilePolicy(policy([pii, inj, attr]));
    const out = p.decide(input, { unavailable: new Set(['pii']) });
    expect(out.failures).toEqual([{ ruleId: pii.id, ruleName: pii.name, action: 'block', ruleClass: 'pii', reason: 'input_unavailable' }]);
    expect(out.hits.map((h) => h.ruleId)).toEqual([inj.id, attr.id]);
    const late = p.decide(input, { deadlineNs: process.hrtime.bigint() - 1n });
    expect(late.hits).toEqual([]);
    expect(late.failures.map((f) => [f.ruleClass, f.reason])).toEqual([['pii', 'timeout'], ['injection', 'timeout'], ['attribute', 'timeout']]);
  });

  it('keeps response rules out of request evaluation and matches them on response text', () => {
    const blockWord = rule('block', { responseContains: ['Top Secret'] });
    const redactKey = rule('redact', { responsePattern: 'sk-[a-z0-9]{8,}', namespaces: ['support'] });
    const otherNs = rule('block', { responseContains: ['anything'], namespaces: ['billing'] });
    const p = compilePolicy(policy([blockWord, redactKey, otherNs]), { maxMatchSpan: 64 });
    expect(p.hasResponseRules).toBe(true);
    expect(p.evaluate({ ...input, promptText: 'Top Secret' })).toEqual([]);
    const m = p.responseRules(input)!;
    expect(m.rules.map((r) => r.ruleId)).toEqual([blockWord.id, redactKey.id]);
    expect(m.window).toBe(64);
    expect(m.find('key sk-abcdef123 is top secret')).toEqual([
      { ruleId: redactKey.id, ruleName: redactKey.name, action: 'redact', start: 4, end: 16, text: 'sk-abcdef123' },
      { ruleId: blockWord.id, ruleName: blockWord.name, action: 'block', start: 20, end: 30, text: 'top secret' },
    ]);
    const literalOnly = compilePolicy(policy([blockWord])).responseRules(input)!;
    expect(literalOnly.window).toBe('Top Secret'.length - 1);
    expect(compilePolicy(policy([otherNs])).responseRules(input)).toBeNull();
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
