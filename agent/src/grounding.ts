/**
 * Groundedness: every id and number an answer states must come from a tool
 * result of the same turn. Used by the planner's tests and by the evals.
 */

export interface Groundedness {
  /** grounded claims / all claims; 1 when the answer states no id or number */
  score: number;
  /** every id, quoted value and number found in the answer, in order */
  claims: string[];
  /** the claims that appear in no tool result */
  ungrounded: string[];
}

// ISO timestamps are one claim, not six numbers.
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;
// a code span marks a value quoted from data (ids, names, titles); its fence may be longer
// than one backtick when the value holds backticks (CommonMark)
const QUOTED = /(?<!`)(`+)(?!`)([^\n]+?)(?<!`)\1(?!`)/g;
// Bare tokens holding a digit or an underscore are ids or numbers ("fnd_12", "gpt-4o-mini", "42").
const TOKEN = /[A-Za-z0-9][A-Za-z0-9_.:/-]*/g;

/**
 * Extracts the ids, quoted values and numbers of `answer` and checks that each
 * occurs in the JSON of `toolResults`.
 *
 * @example groundedness('Finding `f_1` was seen 3 times.', [{ id: 'f_1', count: 3 }]).score === 1
 */
export function groundedness(answer: string, toolResults: readonly unknown[]): Groundedness {
  const haystack = toolResults.map((r) => JSON.stringify(r)).join('\n');
  const numbers = new Set<string>();
  for (const r of toolResults) collectNumbers(r, numbers);
  const claims: string[] = [];
  let rest = answer.replace(QUOTED, (_m, fence: string, value: string) => {
    claims.push(fence.length > 1 && /^ .* $/.test(value) ? value.slice(1, -1) : value);
    return ' ';
  });
  rest = rest.replace(ISO_TIME, (t) => {
    claims.push(t);
    return ' ';
  });
  for (const raw of rest.match(TOKEN) ?? []) {
    // sentence punctuation is not part of a token
    const token = raw.replace(/[.:/-]+$/, '');
    if (/[0-9_]/.test(token)) claims.push(token);
  }
  const ungrounded = claims.filter((c) => (NUMBER.test(c) ? !numbers.has(c) : !occursIn(haystack, c)));
  return {
    score: claims.length === 0 ? 1 : (claims.length - ungrounded.length) / claims.length,
    claims,
    ungrounded,
  };
}

const NUMBER = /^\d+(?:\.\d+)?$/;
// a number standing alone in text: not "3" inside "13", "3.5", "gpt-3" or "09:12"
const NUMBER_IN_TEXT = /(?<![A-Za-z0-9._:-])\d+(?:\.\d+)?(?![A-Za-z0-9_:-]|\.\d)/g;

/** Every number a result states: numeric values, and numbers standing alone in its strings ("SOC 2"). */
function collectNumbers(value: unknown, into: Set<string>): void {
  if (typeof value === 'number') into.add(String(value));
  else if (typeof value === 'string') for (const n of value.replace(ISO_TIME, ' ').match(NUMBER_IN_TEXT) ?? []) into.add(n);
  else if (Array.isArray(value)) for (const v of value) collectNumbers(v, into);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) collectNumbers(v, into);
}

function occursIn(json: string, claim: string): boolean {
  // compare against the JSON-escaped form, bounded so "fnd_1" does not match inside "fnd_12"
  const escaped = JSON.stringify(claim).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![A-Za-z0-9])${escaped}(?![A-Za-z0-9])`).test(json);
}
