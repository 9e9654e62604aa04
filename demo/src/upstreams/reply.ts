/**
 * Deterministic assistant replies for the mock providers. A reply names the
 * topic of the prompt so the demo reads naturally, but is built only from
 * lower-case dictionary-like words: e-mail addresses, numbers, URLs and
 * capitalised names (where PII lives) never come back in a response.
 */

const STOPWORDS = new Set(
  ('about above after again against also because been before being below between both could does doing down during each ' +
    'from further have having here into itself just more most must only other over same should some such than that their ' +
    'them then there these they this those through under until very were what when where which while will with would your ' +
    'yours please thanks thank hello need help want know tell using used like make sure draft write answer question ' +
    'following below retrieved document documents context given based says said customer').split(' '),
);

const OPENINGS = [
  'Happy to help with',
  'Here is a short answer on',
  'Good question about',
  'Let me summarise',
] as const;

export interface Reply {
  text: string;
  /** true when the reply was cut to the caller's max tokens */
  truncated: boolean;
}

/** Rough token estimate used for usage fields: about four characters per token, at least one. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** The topic words of a prompt: lower-case words of 4+ letters that are not stopwords, in order, deduplicated. */
export function topicWords(prompt: string, limit = 3): string[] {
  const cleaned = prompt
    .replace(/\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b/g, ' ')
    .replace(/\b(?:https?|ftp):\/\/\S+/gi, ' ')
    .replace(/\S*\d\S*/g, ' ');
  const words: string[] = [];
  for (const token of cleaned.split(/[^A-Za-z'-]+/)) {
    const word = token.replace(/^['-]+|['-]+$/g, '');
    // capitalised words are names, places and sentence starts: skipping them keeps person names out
    if (word.length < 4 || !/^[a-z][a-z'-]*$/.test(word) || STOPWORDS.has(word) || words.includes(word)) continue;
    words.push(word);
    if (words.length === limit) break;
  }
  return words;
}

/**
 * The reply to a conversation, a pure function of its text: the same prompt
 * always gets the same answer. `maxTokens` cuts the reply the way a provider
 * does when the limit is reached.
 */
export function replyFor(prompt: string, maxTokens?: number): Reply {
  const topic = topicWords(prompt);
  const subject = topic.length === 0 ? 'your request' : topic.length === 1 ? topic[0]! : `${topic.slice(0, -1).join(', ')} and ${topic.at(-1)!}`;
  const opening = OPENINGS[hash(prompt) % OPENINGS.length]!;
  const text =
    `${opening} ${subject}. ` +
    'Start with the official guidance for your account, check the relevant settings, and confirm the change took effect. ' +
    'If anything still looks wrong, share the exact step where it fails and I will walk you through it.';
  if (maxTokens === undefined || estimateTokens(text) <= maxTokens) return { text, truncated: false };
  return { text: text.slice(0, Math.max(1, maxTokens * 4)), truncated: true };
}

function hash(text: string): number {
  // FNV-1a 32-bit: stable across runs and platforms
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
