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
  | 'shadow' // summarise my shadow AI: the unsanctioned assets and their findings
  | 'user_sent' // what did this user send
  | 'changes' // what changed since yesterday
  | 'pii_flows' // which apps leak PII to which providers
  | 'cost' // what does this cost
  | 'other' // "and the other one?": the previous ask, about the next finding listed
  | 'act' // kill / quarantine / disable / release: proposed, never done
  | 'knowledge' // how does X work, what does a framework ask: the knowledge base
  | 'help';

const PATTERNS: ReadonlyArray<readonly [Intent, RegExp]> = [
  ['approve', /(?<![\w-])(approve|reject)(?![\w-])|\b(execute|apply)\b (it|this|that|the proposal|now)\b|\bwithout (an |any )?approval\b/],
  ['other', /^\s*(and |what about |how about )?(the )?other (one|finding)s?\b|\bthe next (one|finding)\b/],
  // imperative only ("quarantine namespace x", "can you kill session y"): "what happens when I quarantine" is a question
  ['act', /^\s*(please\s+|now\s+|just\s+)?(kill|terminate|quarantine|isolate|disable|delete|remove|release)\b|\b(can|could|would|will) you (please )?(kill|terminate|quarantine|isolate|disable|delete|remove|release)\b/],
  ['cost', /\bcost(s|ing)?\b|\bspend(ing)?\b|\bspent\b|\bhow much\b.*\b(pay|paying|money|usd|dollars)\b|\btokens?\b/],
  ['pii_flows', /\b(leak|leaks|leaking|send|sends|sending|flow|flows)\b.*\b(pii|personal data)\b.*\b(provider|providers|where|which)\b|\bdata tracks?\b|\bpii flows?\b|\bwhich apps?\b.*\bpii\b/],
  ['user_sent', /\bwhat (did|has|have)\b.*\b(send|sent|ask|asked|prompt|prompted)\b|\b(user track|timeline)\b|\bactivity of\b/],
  ['changes', /\bwhat('?s| has| is)? (changed|new)\b|\bchanged since\b|\bsince yesterday\b|\blast 24 ?h|\bin the last day\b/],
  ['shadow', /\bshadow ai\b|\bunsanctioned (ai|apps?|assets?|providers?)\b/],
  ['who', /\bwho\b|\bwhich (user|users|person|people|session|sessions)\b|\btriggered\b/],
  ['remediate', /\bwhat (should|do|can|must) (i|we) do\b|\bwhat (should|must) (i|we)\b|\bhow (do|can|should) (i|we) (fix|stop|handle|remediate)\b|\bremediat|\bnext steps?\b|\bfix (it|this|that)\b/],
  ['block', /\b(block|stop|prevent)\b/],
  ['summary', /\bsummar|\bbriefing\b|\bwhat'?s going on\b|\bwhat is going on\b|\boverview\b|\bwhat'?s happening\b/],
  ['explain', /\bwhy\b|\bexplain\b|\bmatters?\b|\bwhat is (this|that|it)\b|\btell me (about|more)\b|\bdetails?\b/],
  ['knowledge', /\bhow (does|do|is|are|should|can|to)\b|\bwhat (does|do) (the )?(eu ai act|soc ?2|nist|ai rmf)\b|\beu ai act\b|\bsoc ?2\b|\bnist\b|\bwhat happens (when|if)\b|\bwhat is (a|an|the) \w+/],
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

// "user alice@example.com", "user 'bob'", "did carol send": the user the person names
const USER_AFTER_WORD = /\buser\s+[`'"]?([^\s`'"?,;]{1,256})/i;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/;
const DID_SEND = /\bdid\s+([A-Za-z0-9._@-]{2,256})\s+(?:send|ask|prompt)/i;

/** A user the person named, if any ("this user" is not a name). */
export function userIn(message: string): string | null {
  const email = EMAIL.exec(message)?.[0];
  if (email !== undefined) return email;
  const named = USER_AFTER_WORD.exec(message)?.[1] ?? DID_SEND.exec(message)?.[1];
  if (named === undefined || /^(this|that|the|it|they|he|she|we|i|you|send|sent|ask|asked|prompt|prompted|do|did)$/i.test(named)) return null;
  return named;
}

/** The cost dimension the person asks by; default per user. */
export function costDimensionIn(message: string): 'user' | 'team' | 'app' | 'model' {
  const text = message.toLowerCase();
  if (/\b(per|by|each|which) (app|application)s?\b|\bapps?\b.*\bcost/.test(text)) return 'app';
  if (/\b(per|by|each|which) teams?\b/.test(text)) return 'team';
  if (/\b(per|by|each|which) models?\b|\bmodels?\b.*\bcost/.test(text)) return 'model';
  return 'user';
}

/** A session id the person typed (`t-<trace>` or `s-<hash>` as the scanner names them, or after the word session). */
export function sessionIdIn(message: string): string | null {
  // an id holds a digit, '_' or '-' ("s-bob-1", "t-4bf9…"): "kill every session now" names none
  return /\bsession\s+[`'"]?((?=[A-Za-z0-9_.:-]*[0-9_-])[A-Za-z0-9][A-Za-z0-9_.:-]{2,127})/i.exec(message)?.[1] ?? null;
}

/** A namespace the person names: "namespace X", "the X namespace". */
export function namespaceIn(message: string): string | null {
  return /\bnamespace\s+[`'"]?([a-z0-9][a-z0-9-]{0,62})/i.exec(message)?.[1]
    ?? /\b(?:the\s+)?[`'"]?([a-z0-9][a-z0-9-]{0,62})[`'"]?\s+namespace\b/i.exec(message)?.[1] ?? null;
}
