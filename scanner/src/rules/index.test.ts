import type { Rule, RuleMatch, ScannerPolicy } from '@higgs/schema';
import { RE2JS } from 're2js';
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
    // requests selecting the same rules share one matcher; another selection gets its own
    expect(p.responseRules({ ...input, userId: 'someone-else' })).toBe(m);
    const billing = p.responseRules({ ...input, namespace: 'billing' })!;
    expect(billing.rules.map((r) => r.ruleId)).toEqual([blockWord.id, otherNs.id]);
    expect(p.responseRules({ ...input, namespace: 'billing' })).toBe(billing);
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

  it('reuses the previous policy\'s compiled rules when only quarantines or kills changed, and recompiles when a rule did', () => {
    const block = rule('block', { piiTypes: ['ssn'] });
    const first = compilePolicy(policy([block]));
    const quarantine = compilePolicy(policy([block], { version: 'v2', quarantinedNamespaces: ['support'], blockedSessions: ['t-x'] }), {}, first);
    expect(quarantine.ruleSet).toBe(first.ruleSet);
    expect([quarantine.version, quarantine.isQuarantined('support'), quarantine.isSessionBlocked('t-x')]).toEqual(['v2', true, true]);
    expect(first.isQuarantined('support')).toBe(false);
    expect(quarantine.evaluate(input).map((h) => h.ruleId)).toEqual([block.id]);

    const disabled = compilePolicy(policy([{ ...block, enabled: false }], { version: 'v3' }), {}, quarantine);
    expect(disabled.ruleSet).not.toBe(first.ruleSet);
    expect(disabled.evaluate(input)).toEqual([]);
    // another stream holdback is another compilation
    expect(compilePolicy(policy([block]), { maxMatchSpan: 64 }, first).ruleSet).not.toBe(first.ruleSet);
  });
});

describe('the rule index', () => {
  // deterministic pseudo-random choices, so a failure reproduces
  function rng(seed: number): (n: number) => number {
    let s = seed;
    return (k) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % k;
    };
  }
  const NS = ['support', 'billing', 'Research'];
  const APPS = ['bot', 'crm'];
  const USERS = ['alice', 'BOB', 'carol'];
  const MODELS = ['gpt-4o*', 'gpt-4o-mini', '*mini', 'claude-*', '*', 'GPT-*-mini', 'o1'];
  const HOSTS = ['api.openai.com', '*.openai.com', '*.azure.com', 'api.*', '*'];
  const WORDS = ['contract', 'Invoice', 'legal', 'ticket-12', 'sk-', 'forward the'];
  const PATTERNS = ['(?i)ticket-\\d+', 'forward\\s+the', '(?i)inv[a-z]+', 'a|b', '\\d{3}-\\d{2}', '(?i)legal$', 'sk-[a-z0-9]{4,}'];
  const PII = ['ssn', 'email', 'credit_card'] as const;
  const pick = <T,>(r: (n: number) => number, xs: readonly T[]): T => xs[r(xs.length)]!;
  const some = <T,>(r: (n: number) => number, xs: readonly T[]): T[] => [...new Set(Array.from({ length: 1 + r(2) }, () => pick(r, xs)))];

  function randomMatch(r: (n: number) => number): RuleMatch {
    const m: RuleMatch = {};
    if (r(4) === 0) m.namespaces = some(r, NS);
    if (r(6) === 0) m.apps = some(r, APPS);
    if (r(6) === 0) m.users = some(r, USERS);
    if (r(6) === 0) m.providers = some(r, ['openai', 'anthropic'] as const);
    if (r(4) === 0) m.models = some(r, MODELS);
    if (r(5) === 0) m.hosts = some(r, HOSTS);
    if (r(4) === 0) m.promptContains = some(r, WORDS);
    if (r(4) === 0) m.promptPattern = pick(r, PATTERNS);
    if (r(6) === 0) m.piiTypes = some(r, PII);
    if (r(6) === 0) m.injectionScoreGte = r(100);
    if (Object.keys(m).length === 0) m.models = some(r, MODELS);
    return m;
  }

  // the semantics written out rule by rule, with no index
  const glob = (p: string, v: string | null) => v !== null && new RegExp(`^${p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i').test(v);
  const eq = (list: readonly string[] | undefined, v: string | null) => !list || (v !== null && list.some((x) => x.toLowerCase() === v.toLowerCase()));
  const reference = (rules: Rule[], i: RuleInput): string[] => rules.filter(({ match: m }) => eq(m.namespaces, i.namespace) && eq(m.apps, i.app)
    && eq(m.users, i.userId) && eq(m.providers, i.provider)
    && (!m.models || m.models.some((p) => glob(p, i.model))) && (!m.hosts || m.hosts.some((p) => glob(p, i.host)))
    && (!m.promptContains || m.promptContains.some((w) => i.promptText.toLowerCase().includes(w.toLowerCase())))
    && (m.promptPattern === undefined || (i.promptText !== '' && RE2JS.compile(m.promptPattern).matcher(i.promptText).find()))
    && (!m.piiTypes || i.detections.some((d) => m.piiTypes!.includes(d.type)))
    && (m.injectionScoreGte === undefined || i.injectionScore >= m.injectionScoreGte)).map((r) => r.id).sort();

  it('agrees with the unindexed semantics on random policies and inputs', () => {
    const r = rng(20261121);
    for (let round = 0; round < 40; round++) {
      const rules = Array.from({ length: 60 }, () => rule(pick(r, ['block', 'redact', 'alert'] as const), randomMatch(r)));
      const p = compilePolicy(policy(rules));
      expect(p.skipped).toEqual([]);
      for (let k = 0; k < 25; k++) {
        const words = Array.from({ length: 3 + r(6) }, () => pick(r, [...WORDS, 'hello', 'TICKET-99', '123-45', 'sk-abcd1234', 'x']));
        const i: RuleInput = {
          provider: pick(r, ['openai', 'anthropic', 'gemini'] as const), model: r(8) === 0 ? null : pick(r, ['gpt-4o', 'gpt-4o-mini', 'GPT-4-mini', 'claude-3', 'o1', 'mini']),
          host: pick(r, ['api.openai.com', 'x.openai.azure.com', 'API.example.org', 'localhost']),
          namespace: r(5) === 0 ? null : pick(r, [...NS, 'research', 'other']), app: r(4) === 0 ? null : pick(r, [...APPS, 'BOT']),
          userId: r(4) === 0 ? null : pick(r, [...USERS, 'bob', 'dave']), promptText: r(10) === 0 ? '' : words.join(' '),
          detections: Array.from({ length: r(3) }, () => ({ type: pick(r, PII), field: 'prompt' as const, hash: '0123456789abcdef' })),
          injectionScore: r(101), toolNames: [],
        };
        const got = p.evaluate(i);
        expect(got.map((h) => h.ruleId).sort(), JSON.stringify({ round, k, i })).toEqual(reference(rules, i));
        const ranks = got.map((h) => ({ block: 0, redact: 1, alert: 2 })[h.action]);
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      }
    }
  });

  it('reports PII rules as undecided when the PII detector failed, even with no detections to look them up by', () => {
    const pii = rule('block', { piiTypes: ['ssn'] });
    const p = compilePolicy(policy([pii, rule('alert', { models: ['claude-*'] })]));
    const out = p.decide({ ...input, detections: [] }, { unavailable: new Set(['pii', 'injection']) });
    expect(out.failures.map((f) => [f.ruleId, f.reason])).toEqual([[pii.id, 'input_unavailable']]);
    expect(p.decide({ ...input, detections: [] }).failures).toEqual([]);
  });

  it('visits a rule filed under a prompt pattern literal only when the literal is in the prompt', () => {
    const p = compilePolicy(policy([rule('block', { promptPattern: '(?i)ticket-\\d{3,}' }), rule('alert', { promptContains: ['TICKET'] })]));
    expect(p.evaluate({ ...input, promptText: 'see Ticket-1234 now' }).map((h) => [h.action, h.matchedText])).toEqual([['block', 'Ticket-1234'], ['alert', 'Ticket']]);
    expect(p.evaluate({ ...input, promptText: 'see ticket-12 now' }).map((h) => h.action)).toEqual(['alert']);
    expect(p.evaluate({ ...input, promptText: 'nothing' })).toEqual([]);
  });
});
