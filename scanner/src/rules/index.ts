import { createHash } from 'node:crypto';
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
  /**
   * true when some enabled rule matches person names or street addresses, which only the full detector
   * pass finds; otherwise the validated types of the cheap structured pass decide every rule
   */
  needsFullPii: boolean;
  /** every enabled request rule that matches, strongest action first (block > redact > alert) */
  evaluate(input: RuleInput): RuleHit[];
  /** like `evaluate`, also reporting the rules it could not decide */
  decide(input: RuleInput, opts?: EvaluateOptions): RuleOutcome;
  /** the response rules whose request-side conditions hold for this call, or null when none does */
  responseRules(input: RuleInput): ResponseMatcher | null;
  isQuarantined(namespace: string | null): boolean;
  isSessionBlocked(sessionId: string): boolean;
  /** the compiled rules alone: a later policy with the same rules reuses them (see compilePolicy's `previous`) */
  readonly ruleSet: CompiledRuleSet;
}

/** The part of a compiled policy that depends on its rules only. */
export type CompiledRuleSet = Pick<CompiledPolicy, 'skipped' | 'hasResponseRules' | 'needsFullPii' | 'evaluate' | 'decide' | 'responseRules'>
  & { readonly key: string };

export interface CompileOptions {
  /** stream holdback for response patterns, in characters (default 256) */
  maxMatchSpan?: number;
}

const ACTION_RANK: Record<RuleAction, number> = { block: 0, redact: 1, alert: 2 };
/** the PII types only the full detector pass finds (`detectPii` vs `detectStructuredPii`) */
const FULL_PASS_TYPES: ReadonlySet<PiiType> = new Set<PiiType>(['person', 'address']);
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
  /**
   * prompt-automaton literal ids one of which must be in the prompt for the
   * rule to match (its `promptContains` literals, else its prompt pattern's
   * required literal); null when the rule has no such condition
   */
  promptLiterals: number[] | null;
  /** position in its rule list, strongest first: the bit the index marks */
  order: number;
}

/** Per-evaluation facts shared by all rules: literal hits and pattern results are computed once. */
class Facts {
  private promptHits: Map<number, number> | null = null;
  private readonly patternResults = new Map<RE2JS, Found | null>();
  private readonly requiredHits = new Map<PatternField, Set<number>>();
  private readonly mayMatch = new Map<PatternField, boolean>();
  constructor(private readonly input: RuleInput, private readonly prompt: LiteralAutomaton, private readonly prefilters: Prefilters) {}

  /**
   * literal id -> end offset of its first occurrence in the prompt; the ids
   * cover `promptContains` literals and the required literals of prompt
   * patterns, so the prompt is scanned once per evaluation
   */
  promptLiterals(): Map<number, number> {
    if (!this.promptHits) {
      const hits = new Map<number, number>();
      this.prompt.scan(this.input.promptText, (id, end) => { if (!hits.has(id)) hits.set(id, end); });
      this.promptHits = hits;
    }
    return this.promptHits;
  }

  /** `literal`: the id of the pattern's required literal (prompt: in the prompt automaton), -1 when it has none */
  pattern(re: RE2JS, field: PatternField, literal: number): Found | null {
    if (this.patternResults.has(re)) return this.patternResults.get(re)!;
    const text = fieldText(this.input, field);
    let found: Found | null = null;
    if (text !== '' && (literal >= 0 ? this.hasLiteral(field, text, literal) : this.combinedMayMatch(field, text))) {
      const m = re.matcher(text);
      if (m.find()) found = { field: FIELD_NAME[field], hash: null, text: text.slice(m.start(), m.end()) };
    }
    this.patternResults.set(re, found);
    return found;
  }

  /** whether the one alternation of the field's literal-less patterns matches (computed once per field) */
  combinedMayMatch(field: PatternField, text: string): boolean {
    let may = this.mayMatch.get(field);
    if (may === undefined) this.mayMatch.set(field, (may = this.prefilters.mayMatch(field, text)));
    return may;
  }

  private hasLiteral(field: PatternField, text: string, literal: number): boolean {
    if (field === 'prompt') return this.promptLiterals().has(literal);
    let hits = this.requiredHits.get(field);
    if (!hits) this.requiredHits.set(field, (hits = this.prefilters.literals.present(text)));
    return hits.has(literal);
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
  /** the required literals of tool input / output patterns that have one (see required-literal.ts) */
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
 *
 * `previous`: the policy this one replaces. When the rules are the same (a
 * quarantine, a release or a session kill changed the policy, not its rules),
 * its compiled rules are reused: compiling costs milliseconds even with no
 * rule at all (the automata's tables), and those orders are the policy changes
 * that must reach the kernel fastest.
 */
export function compilePolicy(policy: ScannerPolicy, opts: CompileOptions = {}, previous?: CompiledPolicy | null): CompiledPolicy {
  // a digest, not the rules' JSON itself: 10 000 rules are megabytes the scanner would keep for the comparison
  const key = createHash('sha256').update(`${opts.maxMatchSpan ?? DEFAULT_MAX_MATCH_SPAN}\u0000${JSON.stringify(policy.rules)}`).digest('hex');
  const ruleSet = previous?.ruleSet.key === key ? previous.ruleSet : compileRules(policy.rules, key, opts);
  const quarantined = new Set(policy.quarantinedNamespaces);
  const blockedSessions = new Set(policy.blockedSessions);
  return {
    version: policy.version,
    policy,
    ...ruleSet,
    isQuarantined: (namespace) => namespace !== null && quarantined.has(namespace),
    isSessionBlocked: (sessionId) => blockedSessions.has(sessionId),
    ruleSet,
  };
}

function compileRules(rules: readonly Rule[], key: string, opts: CompileOptions): CompiledRuleSet {
  const maxMatchSpan = opts.maxMatchSpan ?? DEFAULT_MAX_MATCH_SPAN;
  const skipped: SkippedRule[] = [];
  const promptLiterals = new LiteralIndex();
  const responseLiterals = new LiteralIndex();
  const patternSources: Record<PatternField, string[]> = { prompt: [], toolInput: [], toolOutput: [] };
  const patternLiterals = new LiteralIndex();
  const requestRules: CompiledRule[] = [];
  const responseRules: CompiledRule[] = [];
  for (const rule of rules) {
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
  requestRules.forEach((r, i) => { r.order = i; });
  responseRules.forEach((r, i) => { r.order = i; });

  const promptAutomaton = new LiteralAutomaton(promptLiterals.literals);
  const responseAutomaton = new LiteralAutomaton(responseLiterals.literals);
  const prefilters = new Prefilters();
  for (const field of Object.keys(patternSources) as PatternField[]) prefilters.add(field, patternSources[field]);
  prefilters.literals = new LiteralAutomaton(patternLiterals.literals);
  const requestIndex = new RuleIndex(requestRules, promptLiterals.literals.length, true);
  const responseIndex = new RuleIndex(responseRules, promptLiterals.literals.length, false);
  const decide = (input: RuleInput, o: EvaluateOptions = {}): RuleOutcome => {
    const facts = new Facts(input, promptAutomaton, prefilters);
    const hits: RuleHit[] = [];
    const failures: RuleFailure[] = [];
    const candidates = requestIndex.candidates(input, facts, o.unavailable);
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

  const matchers = new Map<string, ResponseMatcher>();
  return {
    key,
    skipped,
    hasResponseRules: responseRules.length > 0,
    needsFullPii: rules.some((r) => r.enabled && r.match.piiTypes?.some((t) => FULL_PASS_TYPES.has(t))),
    evaluate: (input) => decide(input).hits,
    decide,
    responseRules(input) {
      if (responseRules.length === 0) return null;
      const facts = new Facts(input, promptAutomaton, prefilters);
      const active = responseIndex.candidates(input, facts, undefined).filter((c) => runChecks(c, input, facts) !== null);
      if (active.length === 0) return null;
      // a matcher is immutable: requests whose conditions select the same rules (the usual case) share one,
      // instead of each open stream holding its own literal map (~10 KB at 50 response rules)
      const key = active.map((c) => c.order).join(',');
      let matcher = matchers.get(key);
      if (!matcher) {
        if (matchers.size >= MAX_SHARED_MATCHERS) matchers.delete(matchers.keys().next().value!);
        matchers.set(key, (matcher = responseMatcher(active, responseAutomaton, maxMatchSpan)));
      }
      return matcher;
    },
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
  add(literal: string): number {
    const key = literal.toLowerCase();
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.literals.length;
      this.literals.push(literal);
      this.ids.set(key, id);
    }
    return id;
  }
}

function compileRule(
  rule: Rule, prompt: LiteralIndex, response: LiteralIndex, patterns: Record<PatternField, string[]>, patternLiterals: LiteralIndex,
): CompiledRule {
  const m = rule.match;
  const compiled: CompiledRule = {
    rule, rank: 0, ruleClass: ruleClassOf(m), checks: [], responseLiterals: [], responsePattern: null, promptLiterals: null, order: 0,
  };
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
    compiled.promptLiterals = [...new Set(ids)];
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
    // a pattern with a required literal runs only when the literal is present; the others share one RE2 alternation.
    // Prompt literals join the prompt automaton, so the prompt is scanned once for literals and patterns alike.
    const id = literal === null ? -1 : field === 'prompt' ? prompt.add(literal) : patternLiterals.add(literal);
    if (id === -1) patterns[field].push(source);
    else if (field === 'prompt' && compiled.promptLiterals === null) compiled.promptLiterals = [id];
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
 * condition and visited only when the input has it: a prompt literal (its
 * `promptContains` literals or its prompt pattern's required literal, found
 * by the one automaton pass), else a namespace, app, user, provider or PII
 * type (hash lookups), else its models or hosts (exact values by hash,
 * wildcards by their literal prefix or suffix), else — a prompt pattern with
 * no required literal — the one alternation of such patterns. Only a rule
 * with none of these is always visited. The rule's conditions are then all
 * checked as usual, so the index only ever skips rules that cannot match.
 */
class RuleIndex {
  private readonly byValue = new Map<string, number[]>();
  private readonly byLiteral: Array<number[] | null>;
  private readonly always: number[] = [];
  private readonly unanchoredPatterns: number[] = [];
  /** lengths of the wildcard prefixes / suffixes filed per field: a lookup tries each length once */
  private readonly affixLengths: Record<WildcardField, { prefix: number[]; suffix: number[] }> = {
    model: { prefix: [], suffix: [] }, host: { prefix: [], suffix: [] },
  };
  private readonly piiKeys: string[] = [];
  // one bit per rule, reused by every evaluation (evaluation is synchronous): marking dedupes and the
  // word-by-word walk yields the candidates strongest first without a sort
  private readonly marks: Int32Array;

  constructor(private readonly rules: readonly CompiledRule[], literalCount: number, byLiteral: boolean) {
    this.byLiteral = new Array<number[] | null>(byLiteral ? literalCount : 0).fill(null);
    this.marks = new Int32Array(Math.ceil(rules.length / 32));
    for (const c of rules) {
      const m = c.rule.match;
      if (byLiteral && c.promptLiterals) {
        for (const id of c.promptLiterals) (this.byLiteral[id] ??= []).push(c.order);
        continue;
      }
      const keys = m.namespaces ? m.namespaces.map((v) => `ns:${v.toLowerCase()}`)
        : m.apps ? m.apps.map((v) => `app:${v.toLowerCase()}`)
          : m.users ? m.users.map((v) => `user:${v.toLowerCase()}`)
            : m.providers ? m.providers.map((v) => `provider:${v.toLowerCase()}`)
              : m.piiTypes ? m.piiTypes.map((v) => `pii:${v}`)
                : (m.models && this.wildcardKeys('model', m.models)) ?? (m.hosts && this.wildcardKeys('host', m.hosts)) ?? null;
      if (keys) {
        for (const k of new Set(keys)) this.file(k, c.order);
        if (m.piiTypes && keys[0]!.startsWith('pii:')) for (const k of keys) if (!this.piiKeys.includes(k)) this.piiKeys.push(k);
      } else if (byLiteral && m.promptPattern !== undefined && !m.promptContains) {
        this.unanchoredPatterns.push(c.order);
      } else {
        this.always.push(c.order);
      }
    }
  }

  /**
   * The rules that can match `input`, each once, strongest first. When the
   * PII detector was unavailable, the rules filed by PII type are visited
   * too, so they are reported as undecided rather than silently missed.
   */
  candidates(input: RuleInput, facts: Facts, unavailable: ReadonlySet<RuleClass> | undefined): CompiledRule[] {
    const marks = this.marks;
    const mark = (list: readonly number[] | null | undefined): void => {
      if (list) for (const o of list) marks[o >>> 5]! |= 1 << (o & 31);
    };
    mark(this.always);
    if (input.namespace !== null) mark(this.byValue.get(`ns:${input.namespace.toLowerCase()}`));
    if (input.app !== null) mark(this.byValue.get(`app:${input.app.toLowerCase()}`));
    if (input.userId !== null) mark(this.byValue.get(`user:${input.userId.toLowerCase()}`));
    mark(this.byValue.get(`provider:${input.provider.toLowerCase()}`));
    if (unavailable?.has('pii')) for (const k of this.piiKeys) mark(this.byValue.get(k));
    else for (const d of input.detections) mark(this.byValue.get(`pii:${d.type}`));
    if (input.model !== null) this.markWildcard('model', input.model, mark);
    this.markWildcard('host', input.host, mark);
    if (this.byLiteral.length > 0) for (const id of facts.promptLiterals().keys()) mark(this.byLiteral[id]);
    if (this.unanchoredPatterns.length > 0 && input.promptText !== '' && facts.combinedMayMatch('prompt', input.promptText)) mark(this.unanchoredPatterns);
    const out: CompiledRule[] = [];
    for (let w = 0; w < marks.length; w++) {
      let bits = marks[w]!;
      if (bits === 0) continue;
      marks[w] = 0;
      while (bits !== 0) {
        const low = bits & -bits;
        out.push(this.rules[(w << 5) + 31 - Math.clz32(low)]!);
        bits ^= low;
      }
    }
    return out;
  }

  private file(key: string, order: number): void {
    let list = this.byValue.get(key);
    if (!list) this.byValue.set(key, (list = []));
    list.push(order);
  }

  // `gpt-4o*` files under prefix `gpt-4o`, `*.openai.azure.com` under its suffix, a value without `*` under itself;
  // null (not filed by this field) when some pattern has no literal end, like `*` or `*mini*`
  private wildcardKeys(field: WildcardField, patterns: readonly string[]): string[] | null {
    const keys: string[] = [];
    for (const raw of patterns) {
      const p = foldCase(raw);
      const star = p.indexOf('*');
      if (star === -1) {
        keys.push(`${field}=${p}`);
        continue;
      }
      const prefix = p.slice(0, star);
      const suffix = p.slice(p.lastIndexOf('*') + 1);
      if (prefix === '' && suffix === '') return null;
      const side = prefix.length >= suffix.length ? 'prefix' : 'suffix';
      const affix = side === 'prefix' ? prefix : suffix;
      const lengths = this.affixLengths[field][side];
      if (!lengths.includes(affix.length)) lengths.push(affix.length);
      keys.push(`${field}${side === 'prefix' ? '^' : '$'}${affix}`);
    }
    return keys;
  }

  private markWildcard(field: WildcardField, raw: string, mark: (list: readonly number[] | undefined) => void): void {
    const v = foldCase(raw);
    mark(this.byValue.get(`${field}=${v}`));
    const { prefix, suffix } = this.affixLengths[field];
    for (const n of prefix) if (n <= v.length) mark(this.byValue.get(`${field}^${v.slice(0, n)}`));
    for (const n of suffix) if (n <= v.length) mark(this.byValue.get(`${field}$${v.slice(v.length - n)}`));
  }
}

type WildcardField = 'model' | 'host';

// the case folding the wildcard index keys use: upper then lower, so characters a case-insensitive
// RegExp treats as equal ('ς', 'σ', 'Σ') get one key; the check itself still decides
function foldCase(s: string): string {
  return s.toUpperCase().toLowerCase();
}

/** response matchers a compiled policy keeps for reuse, one per distinct set of active response rules (oldest dropped first) */
const MAX_SHARED_MATCHERS = 64;

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
