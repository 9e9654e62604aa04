import type { Detection, PiiType, Provider, Rule, RuleAction, RuleMatch, ScannerPolicy } from '@higgs/schema';
import { RE2JS } from 're2js';
import { LiteralAutomaton } from './aho-corasick.ts';
import { requiredLiteral } from './required-literal.ts';

export { LiteralAutomaton } from './aho-corasick.ts';

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
  /** the inputs of the tool calls in the conversation, joined; absent = none */
  toolInputText?: string;
  /** the tool results in the conversation, joined; absent = none */
  toolOutputText?: string;
}

/**
 * What a rule needs to be decided, the strongest first: a rule's class is the
 * first of these its conditions use. Fail modes are configured per class
 * (`HIGGS_FAIL_MODE_<CLASS>`), because a rule that cannot be decided is
 * decided by its class's fail mode.
 */
export const RULE_CLASSES = ['pii', 'injection', 'content', 'attribute'] as const;
export type RuleClass = (typeof RULE_CLASSES)[number];

/** A rule that matched, with the field that decided it and the hash of the matched value when there is one. */
export interface RuleHit {
  ruleId: string;
  ruleName: string;
  action: RuleAction;
  matchedField: string | null;
  matchedHash: string | null;
  /**
   * the raw text a literal or pattern matched; the caller hashes it before
   * recording (the rules never see the salt) and never records it as is
   */
  matchedText: string | null;
  /** PII types a `redact` rule removes; null means every detected type */
  redactTypes: readonly PiiType[] | null;
}

/** A rule that could not be decided: its input was unavailable, it threw, or the evaluation ran out of time. */
export interface RuleFailure {
  ruleId: string;
  ruleName: string;
  action: RuleAction;
  ruleClass: RuleClass;
  reason: 'input_unavailable' | 'error' | 'timeout';
}

/** What one evaluation decided and what it could not. */
export interface RuleOutcome {
  hits: RuleHit[];
  failures: RuleFailure[];
}

export interface EvaluateOptions {
  /** inputs whose detector failed: rules of these classes are failures, not misses */
  unavailable?: ReadonlySet<RuleClass>;
  /** `process.hrtime.bigint()` after which the remaining rules are failures with reason `timeout` */
  deadlineNs?: bigint;
}

/** One match of a response rule in response text, offsets in UTF-16 code units, end exclusive. */
export interface ResponseMatch {
  ruleId: string;
  ruleName: string;
  action: RuleAction;
  start: number;
  end: number;
  /** the matched text, raw: hash it before recording */
  text: string;
}

/** The response rules that apply to one call (their request-side conditions held). */
export interface ResponseMatcher {
  /** the rules, strongest action first */
  rules: ReadonlyArray<{ ruleId: string; ruleName: string; action: RuleAction }>;
  /**
   * characters of decoded text a stream must hold back so a match split
   * across chunks is still found whole: the longest literal minus one, or the
   * policy's `maxMatchSpan` when a pattern is involved (a longer pattern match
   * split across chunks can be missed)
   */
  window: number;
  /** every match of these rules in `text`, ordered by start */
  find(text: string): ResponseMatch[];
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
  /** true when some rule inspects the provider's response */
  hasResponseRules: boolean;
  /** every enabled request rule that matches, strongest action first (block > redact > alert) */
  evaluate(input: RuleInput): RuleHit[];
  /** like `evaluate`, also reporting the rules it could not decide */
  decide(input: RuleInput, opts?: EvaluateOptions): RuleOutcome;
  /** the response rules whose request-side conditions hold for this call, or null when none does */
  responseRules(input: RuleInput): ResponseMatcher | null;
  isQuarantined(namespace: string | null): boolean;
  isSessionBlocked(sessionId: string): boolean;
}

export interface CompileOptions {
  /** stream holdback for response patterns, in characters (default 256) */
  maxMatchSpan?: number;
}

const ACTION_RANK: Record<RuleAction, number> = { block: 0, redact: 1, alert: 2 };
const DEFAULT_MAX_MATCH_SPAN = 256;
// checked every this many rules: reading the clock per rule would cost more than most rules
const DEADLINE_STRIDE = 64;

type Found = { field: string; hash: string | null; text: string | null };
/** one condition of a rule, decided on the evaluation's precomputed facts */
type Check = (i: RuleInput, f: Facts) => Found | null;

interface CompiledRule {
  rule: Rule;
  rank: number;
  ruleClass: RuleClass;
  checks: Check[];
  /** only response rules: literal ids and pattern of the response condition */
  responseLiterals: number[];
  responsePattern: RE2JS | null;
}

/** Per-evaluation facts shared by all rules: literal hits and pattern results are computed once. */
class Facts {
  private promptHits: Map<number, number> | null = null;
  private readonly patternResults = new Map<RE2JS, Found | null>();
  private readonly requiredHits = new Map<PatternField, Set<number>>();
  constructor(private readonly input: RuleInput, private readonly prompt: LiteralAutomaton, private readonly prefilters: Prefilters) {}

  /** literal id -> end offset of its first occurrence in the prompt */
  promptLiterals(): Map<number, number> {
    if (!this.promptHits) {
      const hits = new Map<number, number>();
      this.prompt.scan(this.input.promptText, (id, end) => { if (!hits.has(id)) hits.set(id, end); });
      this.promptHits = hits;
    }
    return this.promptHits;
  }

  /** `literal`: the id of the pattern's required literal in the prefilter automaton, -1 when it has none */
  pattern(re: RE2JS, field: PatternField, literal: number): Found | null {
    if (this.patternResults.has(re)) return this.patternResults.get(re)!;
    const text = fieldText(this.input, field);
    let found: Found | null = null;
    const possible = literal >= 0 ? this.required(field, text).has(literal) : this.prefilters.mayMatch(field, text);
    if (text !== '' && possible) {
      const m = re.matcher(text);
      if (m.find()) found = { field: FIELD_NAME[field], hash: null, text: text.slice(m.start(), m.end()) };
    }
    this.patternResults.set(re, found);
    return found;
  }

  private required(field: PatternField, text: string): Set<number> {
    let hits = this.requiredHits.get(field);
    if (!hits) this.requiredHits.set(field, (hits = this.prefilters.literals.present(text)));
    return hits;
  }
}

type PatternField = 'prompt' | 'toolInput' | 'toolOutput';
const FIELD_NAME: Record<PatternField, string> = { prompt: 'prompt', toolInput: 'tool_input', toolOutput: 'tool_output' };
function fieldText(i: RuleInput, field: PatternField): string {
  return field === 'prompt' ? i.promptText : field === 'toolInput' ? (i.toolInputText ?? '') : (i.toolOutputText ?? '');
}

/**
 * One RE2 alternation of every pattern on a field: when it does not match (the
 * common case) no single pattern runs, so many patterns cost one linear pass.
 */
class Prefilters {
  /** the required literals of patterns that have one (see required-literal.ts) */
  literals = new LiteralAutomaton([]);
  private readonly combined = new Map<PatternField, RE2JS | null>();
  add(field: PatternField, sources: string[]): void {
    if (sources.length < 2) return;
    try {
      this.combined.set(field, RE2JS.compile(sources.map((s) => `(?:${s})`).join('|')));
    } catch {
      this.combined.set(field, null); // too large for one program: every pattern runs on its own
    }
  }
  mayMatch(field: PatternField, text: string): boolean {
    const re = this.combined.get(field);
    return re ? re.test(text) : true;
  }
}

/**
 * Compiles a `ScannerPolicy` into a matcher, once per policy version.
 * Conditions of a rule are ANDed, the items of a list ORed; string lists
 * compare case-insensitively, `hosts` and `models` accept `*` wildcards.
 * Patterns are RE2 (linear time: no rule can hang the proxy); a rule whose
 * pattern RE2 cannot compile (back-references, look-around) is skipped and
 * reported in `skipped`, never applied half. Every `promptContains` literal of
 * every rule goes into one case-insensitive Aho-Corasick automaton, and so do
 * the `responseContains` literals; rules are indexed by namespace, app, user,
 * provider, PII type and literal, so an evaluation only visits rules that can
 * match.
 *
 * @example compilePolicy(policy).evaluate(input)[0]?.action // 'block'
 */
export function compilePolicy(policy: ScannerPolicy, opts: CompileOptions = {}): CompiledPolicy {
  const maxMatchSpan = opts.maxMatchSpan ?? DEFAULT_MAX_MATCH_SPAN;
  const skipped: SkippedRule[] = [];
  const promptLiterals = new LiteralIndex();
  const responseLiterals = new LiteralIndex();
  const patternSources: Record<PatternField, string[]> = { prompt: [], toolInput: [], toolOutput: [] };
  const patternLiterals = new LiteralIndex();
  const requestRules: CompiledRule[] = [];
  const responseRules: CompiledRule[] = [];
  for (const rule of policy.rules) {
    if (!rule.enabled) continue;
    try {
      const c = compileRule(rule, promptLiterals, responseLiterals, patternSources, patternLiterals);
      (isResponseRule(rule.match) ? responseRules : requestRules).push(c);
    } catch (err) {
      skipped.push({ ruleId: rule.id, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  const byStrength = (a: CompiledRule, b: CompiledRule): number => a.rank - b.rank;
  requestRules.forEach((r, i) => { r.rank = ACTION_RANK[r.rule.action] * 1e9 + i; });
  responseRules.forEach((r, i) => { r.rank = ACTION_RANK[r.rule.action] * 1e9 + i; });
  requestRules.sort(byStrength);
  responseRules.sort(byStrength);

  const promptAutomaton = new LiteralAutomaton(promptLiterals.literals);
  const responseAutomaton = new LiteralAutomaton(responseLiterals.literals);
  const prefilters = new Prefilters();
  for (const field of Object.keys(patternSources) as PatternField[]) prefilters.add(field, patternSources[field]);
  prefilters.literals = new LiteralAutomaton(patternLiterals.literals);
  const requestIndex = new RuleIndex(requestRules, promptLiterals);
  const responseIndex = new RuleIndex(responseRules, null);
  const quarantined = new Set(policy.quarantinedNamespaces);
  const blockedSessions = new Set(policy.blockedSessions);

  const decide = (input: RuleInput, o: EvaluateOptions = {}): RuleOutcome => {
    const facts = new Facts(input, promptAutomaton, prefilters);
    const hits: RuleHit[] = [];
    const failures: RuleFailure[] = [];
    const candidates = requestIndex.candidates(input, facts);
    let timedOut = false;
    for (let n = 0; n < candidates.length; n++) {
      const c = candidates[n]!;
      if (!timedOut && o.deadlineNs !== undefined && n % DEADLINE_STRIDE === 0 && process.hrtime.bigint() > o.deadlineNs) timedOut = true;
      const reason = timedOut ? 'timeout' : o.unavailable?.has(c.ruleClass) ? 'input_unavailable' : null;
      if (reason) {
        failures.push(failure(c, reason));
        continue;
      }
      try {
        const found = runChecks(c, input, facts);
        if (found) hits.push(hit(c.rule, found));
      } catch {
        failures.push(failure(c, 'error'));
      }
    }
    return { hits, failures };
  };

  return {
    version: policy.version,
    policy,
    skipped,
    hasResponseRules: responseRules.length > 0,
    evaluate: (input) => decide(input).hits,
    decide,
    responseRules(input) {
      if (responseRules.length === 0) return null;
      const facts = new Facts(input, promptAutomaton, prefilters);
      const active = responseIndex.candidates(input, facts).filter((c) => runChecks(c, input, facts) !== null);
      if (active.length === 0) return null;
      return responseMatcher(active, responseAutomaton, maxMatchSpan);
    },
    isQuarantined: (namespace) => namespace !== null && quarantined.has(namespace),
    isSessionBlocked: (sessionId) => blockedSessions.has(sessionId),
  };
}

function isResponseRule(m: RuleMatch): boolean {
  return m.responseContains !== undefined || m.responsePattern !== undefined;
}

function runChecks(c: CompiledRule, input: RuleInput, facts: Facts): Found | null {
  let decisive: Found | null = null;
  for (const check of c.checks) {
    const r = check(input, facts);
    if (!r) return null;
    // the most telling field is the one with a value (a PII hash, then matched text), else the first condition
    if (!decisive || (decisive.hash === null && (r.hash !== null || (decisive.text === null && r.text !== null)))) decisive = r;
  }
  return decisive ?? { field: 'response', hash: null, text: null };
}

function hit(rule: Rule, found: Found): RuleHit {
  return {
    ruleId: rule.id, ruleName: rule.name, action: rule.action, matchedField: found.field, matchedHash: found.hash, matchedText: found.text,
    redactTypes: rule.match.piiTypes ?? null,
  };
}

function failure(c: CompiledRule, reason: RuleFailure['reason']): RuleFailure {
  return { ruleId: c.rule.id, ruleName: c.rule.name, action: c.rule.action, ruleClass: c.ruleClass, reason };
}

function ruleClassOf(m: RuleMatch): RuleClass {
  if (m.piiTypes) return 'pii';
  if (m.injectionScoreGte !== undefined) return 'injection';
  if (m.promptContains || m.promptPattern !== undefined || m.toolInputPattern !== undefined || m.toolOutputPattern !== undefined
    || isResponseRule(m)) return 'content';
  return 'attribute';
}

/** Literals deduplicated (case-folded) across rules: one automaton id per distinct literal. */
class LiteralIndex {
  readonly literals: string[] = [];
  private readonly ids = new Map<string, number>();
  /** for each literal id, the rules that use it */
  readonly rulesOf: CompiledRule[][] = [];
  add(literal: string): number {
    const key = literal.toLowerCase();
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.literals.length;
      this.literals.push(literal);
      this.ids.set(key, id);
      this.rulesOf.push([]);
    }
    return id;
  }
}

function compileRule(
  rule: Rule, prompt: LiteralIndex, response: LiteralIndex, patterns: Record<PatternField, string[]>, patternLiterals: LiteralIndex,
): CompiledRule {
  const m = rule.match;
  const compiled: CompiledRule = { rule, rank: 0, ruleClass: ruleClassOf(m), checks: [], responseLiterals: [], responsePattern: null };
  // RE2 compiles first: a pattern it rejects skips the rule before any index refers to it
  const re = (field: string, source: string | undefined): RE2JS | null => {
    if (source === undefined) return null;
    try {
      return RE2JS.compile(source);
    } catch (err) {
      throw new Error(`${field}: RE2 cannot compile this pattern (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
  };
  const promptRe = re('promptPattern', m.promptPattern);
  const toolInputRe = re('toolInputPattern', m.toolInputPattern);
  const toolOutputRe = re('toolOutputPattern', m.toolOutputPattern);
  compiled.responsePattern = re('responsePattern', m.responsePattern);

  // cheapest first: an attribute miss saves the literal and pattern work
  const checks = compiled.checks;
  if (m.providers) checks.push(oneOf('provider', m.providers, (i) => i.provider));
  if (m.namespaces) checks.push(oneOf('namespace', m.namespaces, (i) => i.namespace));
  if (m.apps) checks.push(oneOf('app', m.apps, (i) => i.app));
  if (m.users) checks.push(oneOf('user', m.users, (i) => i.userId));
  if (m.models) checks.push(wildcard('model', m.models, (i) => i.model));
  if (m.hosts) checks.push(wildcard('host', m.hosts, (i) => i.host));
  if (m.toolNames) {
    const names = new Set(m.toolNames.map((s) => s.toLowerCase()));
    checks.push((i) => (i.toolNames.some((t) => names.has(t.toLowerCase())) ? { field: 'tool_name', hash: null, text: null } : null));
  }
  if (m.injectionScoreGte !== undefined) {
    const min = m.injectionScoreGte;
    checks.push((i) => (i.injectionScore >= min ? { field: 'injection_score', hash: null, text: null } : null));
  }
  if (m.piiTypes) {
    const types = new Set(m.piiTypes);
    checks.push((i) => {
      const d = i.detections.find((x) => types.has(x.type));
      return d ? { field: d.field, hash: d.hash, text: null } : null;
    });
  }
  if (m.promptContains) {
    const ids = m.promptContains.map((l) => prompt.add(l));
    for (const id of new Set(ids)) prompt.rulesOf[id]!.push(compiled);
    checks.push((i, f) => {
      const hits = f.promptLiterals();
      for (const id of ids) {
        const end = hits.get(id);
        if (end !== undefined) return { field: 'prompt', hash: null, text: i.promptText.slice(end - prompt.literals[id]!.length, end) };
      }
      return null;
    });
  }
  const pattern = (field: PatternField, r: RE2JS | null, source: string | undefined): void => {
    if (!r || source === undefined) return;
    const literal = requiredLiteral(source);
    // a pattern with a required literal runs only when the literal is present; the others share one RE2 alternation
    const id = literal === null ? -1 : patternLiterals.add(literal);
    if (id === -1) patterns[field].push(source);
    checks.push((_i, f) => f.pattern(r, field, id));
  };
  pattern('prompt', promptRe, m.promptPattern);
  pattern('toolInput', toolInputRe, m.toolInputPattern);
  pattern('toolOutput', toolOutputRe, m.toolOutputPattern);
  if (m.responseContains) compiled.responseLiterals = [...new Set(m.responseContains.map((l) => response.add(l)))];
  return compiled;
}

/**
 * Which rules an evaluation visits. A rule is filed under one selective
 * condition — a prompt literal, else a namespace, app, user, provider or PII
 * type — and visited only when the input has it; a rule with none of these is
 * always visited. Its other conditions are then checked as usual.
 */
class RuleIndex {
  private readonly byValue = new Map<string, CompiledRule[]>();
  private readonly always: CompiledRule[] = [];
  private readonly literalRules: CompiledRule[][];

  constructor(rules: CompiledRule[], literals: LiteralIndex | null) {
    this.literalRules = literals?.rulesOf ?? [];
    for (const c of rules) {
      const m = c.rule.match;
      if (literals && m.promptContains) continue; // filed by literal in LiteralIndex.rulesOf
      const key = m.namespaces ? m.namespaces.map((v) => `ns:${v.toLowerCase()}`)
        : m.apps ? m.apps.map((v) => `app:${v.toLowerCase()}`)
          : m.users ? m.users.map((v) => `user:${v.toLowerCase()}`)
            : m.providers ? m.providers.map((v) => `provider:${v.toLowerCase()}`)
              : m.piiTypes ? m.piiTypes.map((v) => `pii:${v}`) : null;
      if (!key) {
        this.always.push(c);
        continue;
      }
      for (const k of new Set(key)) {
        let list = this.byValue.get(k);
        if (!list) this.byValue.set(k, (list = []));
        list.push(c);
      }
    }
  }

  /** the rules that can match `input`, each once, strongest first */
  candidates(input: RuleInput, facts: Facts): CompiledRule[] {
    // rank is unique per rule, so sorting the collected ranks orders and de-duplicates in one go
    const picked: CompiledRule[] = this.always.slice();
    const add = (list: CompiledRule[] | undefined): void => { if (list) for (const c of list) picked.push(c); };
    if (input.namespace !== null) add(this.byValue.get(`ns:${input.namespace.toLowerCase()}`));
    if (input.app !== null) add(this.byValue.get(`app:${input.app.toLowerCase()}`));
    if (input.userId !== null) add(this.byValue.get(`user:${input.userId.toLowerCase()}`));
    add(this.byValue.get(`provider:${input.provider.toLowerCase()}`));
    for (const type of new Set(input.detections.map((d) => d.type))) add(this.byValue.get(`pii:${type}`));
    if (this.literalRules.length > 0) for (const id of facts.promptLiterals().keys()) add(this.literalRules[id]);
    picked.sort((a, b) => a.rank - b.rank);
    const out: CompiledRule[] = [];
    for (const c of picked) if (out.length === 0 || out[out.length - 1] !== c) out.push(c);
    return out;
  }
}

function responseMatcher(active: CompiledRule[], automaton: LiteralAutomaton, maxMatchSpan: number): ResponseMatcher {
  const byLiteral = new Map<number, CompiledRule[]>();
  let longest = 0;
  let anyPattern = false;
  for (const c of active) {
    for (const id of c.responseLiterals) {
      let list = byLiteral.get(id);
      if (!list) byLiteral.set(id, (list = []));
      list.push(c);
      longest = Math.max(longest, automaton.lengths[id]!);
    }
    if (c.responsePattern) anyPattern = true;
  }
  return {
    rules: active.map((c) => ({ ruleId: c.rule.id, ruleName: c.rule.name, action: c.rule.action })),
    window: Math.max(longest - 1, anyPattern ? maxMatchSpan : 0),
    find(text) {
      const out: ResponseMatch[] = [];
      const add = (c: CompiledRule, start: number, end: number): void => {
        out.push({ ruleId: c.rule.id, ruleName: c.rule.name, action: c.rule.action, start, end, text: text.slice(start, end) });
      };
      if (byLiteral.size > 0) {
        automaton.scan(text, (id, end) => {
          const rules = byLiteral.get(id);
          if (rules) for (const c of rules) add(c, end - automaton.lengths[id]!, end);
        });
      }
      for (const c of active) {
        if (!c.responsePattern) continue;
        const m = c.responsePattern.matcher(text);
        while (m.find()) {
          if (m.end() === m.start()) continue; // an empty match has nothing to redact or block
          add(c, m.start(), m.end());
        }
      }
      return out.sort((a, b) => a.start - b.start || b.end - a.end);
    },
  };
}

function oneOf(field: string, list: readonly string[], get: (i: RuleInput) => string | null): Check {
  const set = new Set(list.map((s) => s.toLowerCase()));
  return (i) => {
    const v = get(i);
    return v !== null && set.has(v.toLowerCase()) ? { field, hash: null, text: null } : null;
  };
}

// case-insensitive equality, where `*` matches any run of characters ("gpt-4o*", "*.openai.azure.com")
function wildcard(field: string, patterns: readonly string[], get: (i: RuleInput) => string | null): Check {
  const res = patterns.map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i'));
  return (i) => {
    const v = get(i);
    return v !== null && res.some((re) => re.test(v)) ? { field, hash: null, text: null } : null;
  };
}
