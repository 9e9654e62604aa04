/**
 * Intent recognition for the offline planner: only the person's own message is
 * read here, never a tool result, so data cannot steer which tools run.
 */
import { FindingCategory } from '@higgs/schema';

export type Intent =
  | 'explain' // why does this finding matter / explain this
  | 'remediate' // what should I do
  | 'who' // who triggered it
  | 'block' // block it (propose the suggested block)
  | 'approve' // approve / execute: the agent cannot, it says who can
  | 'summary' // briefing: what's going on
  | 'help';

const PATTERNS: ReadonlyArray<readonly [Intent, RegExp]> = [
  ['approve', /\b(approve|reject)\b|\b(execute|apply)\b (it|this|that|the proposal|now)\b/],
  ['who', /\bwho\b|\bwhich (user|users|person|people|session|sessions)\b|\btriggered\b/],
  ['remediate', /\bwhat (should|do|can|must) (i|we)\b|\bhow (do|can|should) (i|we) (fix|stop|handle|remediate)\b|\bremediat|\bnext steps?\b|\bfix (it|this|that)\b/],
  ['block', /\b(block|stop|prevent)\b/],
  ['summary', /\bsummar|\bbriefing\b|\bwhat'?s going on\b|\bwhat is going on\b|\boverview\b|\bwhat'?s happening\b/],
  ['explain', /\bwhy\b|\bexplain\b|\bmatters?\b|\bwhat is (this|that|it)\b|\btell me (about|more)\b|\bdetails?\b/],
];

export function classifyIntent(message: string): Intent {
  const text = message.toLowerCase();
  for (const [intent, pattern] of PATTERNS) if (pattern.test(text)) return intent;
  return 'help';
}

/** Intents that are about one finding. */
export function needsFinding(intent: Intent): boolean {
  return intent === 'explain' || intent === 'remediate' || intent === 'who' || intent === 'block';
}

const CATEGORY_WORDS: ReadonlyArray<readonly [FindingCategory, RegExp]> = [
  ['pii', /\bpii\b|\bpersonal data\b|\bssn\b|\bsocial security\b|\bcredit card\b|\bemail address/],
  ['injection', /\binjection\b|\bjailbreak\b/],
  ['shadow', /\bshadow\b|\bunsanctioned\b/],
  ['cve', /\bcve\b|\bvulnerab/],
  ['access', /\baccess finding\b/],
  ['authentication', /\bauthentication\b|\bauth finding\b/],
  ['compliance', /\bcompliance finding\b/],
];

/** "the PII finding" → 'pii'; null when the message names no category. */
export function categoryIn(message: string): FindingCategory | null {
  const text = message.toLowerCase();
  for (const [category, pattern] of CATEGORY_WORDS) if (pattern.test(text)) return category;
  return null;
}

// "finding fnd_123", "finding #fnd_123", or a bare id-shaped token (letters, then _ or -, then a digit somewhere)
const AFTER_WORD = /\bfinding\s+#?([A-Za-z0-9][A-Za-z0-9_-]{2,127})/i;
// prefix_ then a generated tail ("fnd_3f9c…"): at least six digits, so model names like "gpt-4o-mini" are not taken for ids
const ID_SHAPED = /(?<![\w-])([a-z]{1,12}[_-](?=(?:[A-Za-z_-]*\d){6})[A-Za-z0-9_-]{6,120})(?![\w-])/;
const UUID = /(?<![\w-])(?:[a-z]{1,12}[_-])?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![\w-])/i;

/** A finding id the person typed, if any. */
export function findingIdIn(message: string): string | null {
  const after = AFTER_WORD.exec(message)?.[1];
  if (after !== undefined && /[0-9_]/.test(after)) return after;
  return UUID.exec(message)?.[0] ?? ID_SHAPED.exec(message)?.[1] ?? null;
}
