import type { Detection, PiiType, Provider, Rule, RuleAction, ScannerPolicy } from '@higgs/schema';

/** The parsed fields of one request that rules match on. */
export interface RuleInput {
  provider: Provider;
  model: string | null;
  host: string;
  namespace: string | null;
  app: string | null;
  userId: string | null;
  /** the conversation text (system excluded), raw */
  promptText: string;
  /** detections in the prompt and system text */
  detections: readonly Detection[];
  injectionScore: number;
  /** declared tools and tool calls in the conversation */
  toolNames: readonly string[];
}

/** A rule that matched, with the field that decided it and the hash of the matched value when there is one. */
export interface RuleHit {
  ruleId: string;
  ruleName: string;
  action: RuleAction;
  matchedField: string | null;
  matchedHash: string | null;
  /** PII types a `redact` rule removes; null means every detected type */
  redactTypes: readonly PiiType[] | null;
}

/** A rule the compiler had to leave out, and why. */
export interface SkippedRule {
  ruleId: string;
  reason: string;
}

/** A policy compiled once per version: evaluating it does no parsing or regex compilation. */
export interface CompiledPolicy {
  version: string;
  policy: ScannerPolicy;
  skipped: readonly SkippedRule[];
  /** every enabled rule that matches, strongest action first (block > redact > alert) */
  evaluate(input: RuleInput): RuleHit[];
  isQuarantined(namespace: string | null): boolean;
  isSessionBlocked(sessionId: string): boolean;
}

const ACTION_RANK: Record<RuleAction, number> = { block: 0, redact: 1, alert: 2 };

type Check = (input: RuleInput) => { field: string; hash: string | null } | null;

/**
 * Compiles a `ScannerPolicy` into a matcher. Conditions of a rule are ANDed, the
 * items of a list ORed; string lists compare case-insensitively, `hosts` and
 * `models` accept `*` wildcards. A rule whose `promptPattern` does not compile
 * is skipped and reported in `skipped`, never applied half.
 *
 * @example compilePolicy(policy).evaluate(input)[0]?.action // 'block'
 */
export function compilePolicy(policy: ScannerPolicy): CompiledPolicy {
  const skipped: SkippedRule[] = [];
  const compiled: Array<{ rule: Rule; checks: Check[] }> = [];
  for (const rule of policy.rules) {
    if (!rule.enabled) continue;
    try {
      compiled.push({ rule, checks: compileChecks(rule) });
    } catch (err) {
      skipped.push({ ruleId: rule.id, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  compiled.sort((a, b) => ACTION_RANK[a.rule.action] - ACTION_RANK[b.rule.action]);
  const quarantined = new Set(policy.quarantinedNamespaces);
  const blockedSessions = new Set(policy.blockedSessions);

  return {
    version: policy.version,
    policy,
    skipped,
    evaluate(input) {
      const hits: RuleHit[] = [];
      for (const { rule, checks } of compiled) {
        let decisive: { field: string; hash: string | null } | null = null;
        let matched = true;
        for (const check of checks) {
          const r = check(input);
          if (!r) {
            matched = false;
            break;
          }
          // the most telling field is the one with a value hash (a PII type), else the first condition
          if (!decisive || (decisive.hash === null && r.hash !== null)) decisive = r;
        }
        if (!matched) continue;
        hits.push({
          ruleId: rule.id,
          ruleName: rule.name,
          action: rule.action,
          matchedField: decisive?.field ?? null,
          matchedHash: decisive?.hash ?? null,
          redactTypes: rule.match.piiTypes ?? null,
        });
      }
      return hits;
    },
    isQuarantined: (namespace) => namespace !== null && quarantined.has(namespace),
    isSessionBlocked: (sessionId) => blockedSessions.has(sessionId),
  };
}

function compileChecks(rule: Rule): Check[] {
  const m = rule.match;
  const checks: Check[] = [];
  if (m.piiTypes) {
    const types = new Set(m.piiTypes);
    checks.push((i) => {
      const d = i.detections.find((x) => types.has(x.type));
      return d ? { field: d.field, hash: d.hash } : null;
    });
  }
  if (m.injectionScoreGte !== undefined) {
    const min = m.injectionScoreGte;
    checks.push((i) => (i.injectionScore >= min ? { field: 'injection_score', hash: null } : null));
  }
  if (m.providers) checks.push(oneOf('provider', m.providers, (i) => i.provider));
  if (m.models) checks.push(wildcard('model', m.models, (i) => i.model));
  if (m.hosts) checks.push(wildcard('host', m.hosts, (i) => i.host));
  if (m.namespaces) checks.push(oneOf('namespace', m.namespaces, (i) => i.namespace));
  if (m.apps) checks.push(oneOf('app', m.apps, (i) => i.app));
  if (m.users) checks.push(oneOf('user', m.users, (i) => i.userId));
  if (m.promptContains) {
    const needles = m.promptContains.map((s) => s.toLowerCase());
    checks.push((i) => {
      const hay = i.promptText.toLowerCase();
      return needles.some((n) => hay.includes(n)) ? { field: 'prompt', hash: null } : null;
    });
  }
  if (m.promptPattern !== undefined) {
    const re = compilePattern(m.promptPattern);
    checks.push((i) => (re.test(i.promptText) ? { field: 'prompt', hash: null } : null));
  }
  if (m.toolNames) {
    const names = new Set(m.toolNames.map((s) => s.toLowerCase()));
    checks.push((i) => (i.toolNames.some((t) => names.has(t.toLowerCase())) ? { field: 'tool_name', hash: null } : null));
  }
  return checks;
}

function oneOf(field: string, list: readonly string[], get: (i: RuleInput) => string | null): Check {
  const set = new Set(list.map((s) => s.toLowerCase()));
  return (i) => {
    const v = get(i);
    return v !== null && set.has(v.toLowerCase()) ? { field, hash: null } : null;
  };
}

// case-insensitive equality, where `*` matches any run of characters ("gpt-4o*", "*.openai.azure.com")
function wildcard(field: string, patterns: readonly string[], get: (i: RuleInput) => string | null): Check {
  const res = patterns.map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i'));
  return (i) => {
    const v = get(i);
    return v !== null && res.some((re) => re.test(v)) ? { field, hash: null } : null;
  };
}

// The contract names RE2 syntax; until the scanner runs RE2, JS RegExp with RE2's
// leading (?i) flag group translated. A pattern JS cannot compile throws and the rule is skipped.
function compilePattern(pattern: string): RegExp {
  const caseless = pattern.startsWith('(?i)');
  return new RegExp(caseless ? pattern.slice(4) : pattern, caseless ? 'iu' : 'u');
}
