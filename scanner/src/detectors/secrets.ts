import { FAST_PATHS, hintGroup, hintsOf, matchesAt } from './hints.ts';

/** One detected credential: where it sits, which family it belongs to, and the value itself (held in memory, never stored). */
export interface SecretSpan {
  start: number;
  end: number;
  /** the credential family, e.g. `aws_access_key`, `openai_api_key`, `jwt`, `generic_secret` */
  kind: string;
  value: string;
}

interface SecretRule {
  kind: string;
  /** substrings one of which must occur before the regex is run: a cheap prefilter on long prompts */
  hints: readonly string[];
  pattern: RegExp;
  /** capture group holding the secret; 0 = the whole match */
  group?: number;
  valid?: (value: string) => boolean;
}

// Formats from the providers' documentation and gitleaks' rule set (MIT); every
// pattern is a flat character class or a bounded repetition, so matching stays
// linear in the prompt length.
const RULES: readonly SecretRule[] = [
  { kind: 'anthropic_api_key', hints: ['sk-ant-'], pattern: /(?<![\w-])sk-ant-(?:api|admin|oat)\d\d-[\w-]{80,100}AA(?![\w-])/g },
  {
    kind: 'openai_api_key', hints: ['sk-'],
    pattern: /(?<![\w-])sk-(?!ant-)(?:(?:proj|svcacct|admin)-[\w-]{40,200}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{48})(?![\w-])/g,
    valid: notPlaceholder,
  },
  {
    kind: 'aws_access_key', hints: ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'],
    pattern: /(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}(?![A-Z0-9])/g,
    valid: (v) => !v.includes('EXAMPLE') && notPlaceholder(v),
  },
  {
    kind: 'aws_secret_key', hints: ['aws', 'AWS', 'Aws'],
    pattern: /aws[\w.-]{0,20}(?:secret|sk)[\w.-]{0,20}["']?\s{0,4}(?:=|:|:=|=>)\s{0,4}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
    group: 1, valid: (v) => entropy(v) >= 4 && !v.includes('EXAMPLE'),
  },
  { kind: 'gcp_api_key', hints: ['AIza'], pattern: /(?<![\w-])AIza[\w-]{35}(?![\w-])/g, valid: notPlaceholder },
  { kind: 'azure_client_secret', hints: ['Q~'], pattern: /(?<![\w~.-])[\w~.]{3}\dQ~[\w~.-]{31,34}(?![\w~.-])/g, valid: notPlaceholder },
  {
    kind: 'azure_key', hints: ['azure', 'AZURE', 'Azure', 'cognitive', 'ocp-apim'],
    pattern: /(?:azure|cognitive|ocp-apim)[\w.-]{0,30}(?:key|secret)["']?\s{0,4}(?:=|:|:=|=>)\s{0,4}["']?([a-f0-9]{32}|[A-Za-z0-9]{84})(?![\w-])/gi,
    group: 1, valid: notPlaceholder,
  },
  { kind: 'github_token', hints: ['gh'], pattern: /(?<![\w-])gh[pousr]_[A-Za-z0-9]{36,76}(?![\w-])/g, valid: notPlaceholder },
  { kind: 'github_token', hints: ['github_pat_'], pattern: /(?<![\w-])github_pat_\w{82}(?![\w-])/g },
  { kind: 'gitlab_token', hints: ['glpat-'], pattern: /(?<![\w-])glpat-[\w-]{20,}(?![\w-])/g, valid: notPlaceholder },
  {
    kind: 'slack_token', hints: ['xox'],
    pattern: /(?<![\w-])xox(?:e\.xox[bp]-\d-[A-Z0-9]{150,170}|e-\d-[A-Z0-9]{140,150}|[abposer]-(?:\d+-)?[A-Za-z0-9-]{10,250})(?![\w-])/g,
    valid: (v) => notPlaceholder(v) && /\d/.test(v),
  },
  { kind: 'slack_token', hints: ['xapp-'], pattern: /(?<![\w-])xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+(?![\w-])/gi },
  { kind: 'slack_webhook', hints: ['hooks.slack.com'], pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/]{43,56}/g },
  { kind: 'stripe_key', hints: ['_live_', '_test_', '_prod_'], pattern: /(?<![\w-])(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,99}(?![\w-])/g, valid: notPlaceholder },
  { kind: 'huggingface_token', hints: ['hf_', 'api_org_'], pattern: /(?<![\w-])(?:hf_[A-Za-z]{34}|api_org_[A-Za-z]{34})(?![\w-])/g, valid: notPlaceholder },
  { kind: 'sendgrid_key', hints: ['SG.'], pattern: /(?<![\w-])SG\.[\w-]{22}\.[\w-]{43}(?![\w-])/g },
  { kind: 'npm_token', hints: ['npm_'], pattern: /(?<![\w-])npm_[A-Za-z0-9]{36}(?![\w-])/g, valid: notPlaceholder },
  {
    kind: 'private_key', hints: ['PRIVATE KEY'],
    pattern: /-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]{40,16384}?-----END[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----/g,
  },
  { kind: 'jwt', hints: ['eyJ'], pattern: /(?<![\w-])eyJ[\w-]{10,}\.eyJ[\w-]{4,}\.[\w-]*(?![\w-])/g, valid: validJwt },
];

// every rule's hints in the detectors' shared hint pass (case-folded there: a superset of the
// case-sensitive hints, so still only a prefilter)
const RULE_HINTS = RULES.map((r) => hintGroup(r.hints.map((h) => h.toLowerCase())));
const KEY_HINTS = hintGroup(['api', 'key', 'secret', 'token', 'passw', 'pwd', 'credential', 'auth']);

// identifiers naming a credential: `api_key`, `clientSecret`, `DB_PASSWORD`, `auth_token`…
const KEY_WORD = /api[_-]?key|apikey|secret|token|passw(?:or)?d|pwd|credential|auth|access[_-]?key|private[_-]?key/giy;
// the words every KEY_WORD match starts with: the pattern runs only where the hint pass saw one
const KEY_WORD_STARTS = hintGroup(['api', 'secret', 'token', 'passw', 'pwd', 'credential', 'auth', 'access', 'private'], { starts: true });
FAST_PATHS.push({
  name: 'secrets.key_word', global: new RegExp(KEY_WORD.source, 'gi'),
  matches: (text) => {
    const out: RegExpExecArray[] = [];
    const starts = hintsOf(text).starts(KEY_WORD_STARTS);
    matchesAt(KEY_WORD, text, starts, starts.length, (m) => out.push(m));
    return out;
  },
});
// after the identifier: an assignment in any common syntax, then the value
const ASSIGNED_VALUE = /["'\]]?\s{0,4}(?:=|:|:=|=>|::=|\.=|\?=|\|\|=)\s{0,4}(?:["'`]|b["'])?([\w+/=.~@$!%*#?&-]{12,200})/y;
// identifier words that name something about a secret, not the secret itself
const NOT_A_VALUE_NAME = /(?:id|ids|name|names|file|path|url|uri|size|length|len|type|format|version|count|public|pub|header|endpoint|field|prefix|env|mode|ttl|expiry|expires)$|public|^pub/i;

/**
 * Finds provider API keys, private keys, JWTs and high-entropy values assigned
 * to credential-named keys (`api_key = "…"`, `"client_secret": "…"`). Each
 * span carries its family in `kind`; the caller masks the value and keeps
 * only a salted hash of it.
 *
 * @example detectSecrets('key=AKIAZ3MSJV4WPX2L6QYB') // [{ kind: 'aws_access_key', start: 4, end: 24, … }]
 */
export function detectSecrets(text: string): SecretSpan[] {
  const spans: SecretSpan[] = [];
  const hints = hintsOf(text);
  for (let r = 0; r < RULES.length; r++) {
    const rule = RULES[r]!;
    if (!hints.present(RULE_HINTS[r]!) || !rule.hints.some((h) => text.includes(h))) continue;
    for (const m of text.matchAll(rule.pattern)) {
      const value = m[rule.group ?? 0];
      if (value === undefined || (rule.valid && !rule.valid(value))) continue;
      const start = m.index + (rule.group ? m[0].lastIndexOf(value) : 0);
      spans.push({ start, end: start + value.length, kind: rule.kind, value });
    }
  }
  if (!hints.present(KEY_HINTS)) return spans;
  const keyWords = hints.starts(KEY_WORD_STARTS);
  matchesAt(KEY_WORD, text, keyWords, keyWords.length, (m) => {
    let idEnd = m.index + m[0].length;
    while (idEnd < text.length && isIdentChar(text.charCodeAt(idEnd))) idEnd++;
    let idStart = m.index;
    while (idStart > 0 && isIdentChar(text.charCodeAt(idStart - 1))) idStart--;
    if (NOT_A_VALUE_NAME.test(text.slice(idStart, idEnd))) return;
    ASSIGNED_VALUE.lastIndex = idEnd;
    const v = ASSIGNED_VALUE.exec(text);
    if (!v) return;
    const value = v[1]!.replace(/[.,;]+$/, '');
    if (!looksGenerated(value)) return;
    const start = v.index + v[0].length - v[1]!.length;
    if (spans.some((s) => start < s.end && s.start < start + value.length)) return;
    spans.push({ start, end: start + value.length, kind: 'generic_secret', value });
  });
  return spans;
}

function isIdentChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46;
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SEQUENCE = /abcdefgh|ABCDEFGH|01234567|qwerty/;

// A value a machine generated: long enough, mixed letters and digits, high entropy,
// not a UUID (identifiers), not a placeholder or an alphabet.
function looksGenerated(v: string): boolean {
  if (v.length < 16 || UUID.test(v) || SEQUENCE.test(v) || !notPlaceholder(v)) return false;
  if (!/\d/.test(v) || !/[A-Za-z]/.test(v)) return false;
  if (/^[\w-]+\.(?:pem|p12|key|cer|crt|json|ya?ml|txt|env)$/i.test(v)) return false;
  return entropy(v) >= (v.length >= 32 ? 3.5 : 3.2);
}

// xxxx, 0000, your-key-here, EXAMPLE: documentation values, not secrets
function notPlaceholder(v: string): boolean {
  if (/x{6,}|X{6,}|\*{4,}|0{8,}|(?:your|my)[_-]?(?:api)?[_-]?(?:key|token|secret)|example|placeholder|redacted|changeme/i.test(v)) return false;
  return new Set(v).size >= 8;
}

function validJwt(token: string): boolean {
  const [header, payload] = token.split('.');
  try {
    const h = JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')) as unknown;
    const p = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as unknown;
    return typeof h === 'object' && h !== null && 'alg' in h && typeof p === 'object' && p !== null;
  } catch {
    return false;
  }
}
