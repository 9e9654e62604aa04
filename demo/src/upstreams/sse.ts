/**
 * Server-sent events framing as the providers emit it: OpenAI sends bare
 * `data:` lines, Anthropic names every event. One frame per event, each
 * terminated by a blank line (https://html.spec.whatwg.org/#event-stream-interpretation).
 */
export function sseFrame(data: unknown, event?: string): string {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  // a payload line break would start a new field; JSON.stringify never emits one, raw strings might
  const dataLines = payload.split('\n').map((line) => `data: ${line}`).join('\n');
  return event === undefined ? `${dataLines}\n\n` : `event: ${event}\n${dataLines}\n\n`;
}

/**
 * Splits `text` into about `parts` consecutive pieces at word boundaries, so
 * a streamed reply arrives as several deltas whose concatenation is `text`.
 */
export function splitIntoDeltas(text: string, parts: number): string[] {
  const words = text.match(/\S+\s*/g) ?? [];
  if (words.length === 0) return text.length > 0 ? [text] : [];
  const leading = text.slice(0, text.length - words.join('').length);
  const size = Math.max(1, Math.ceil(words.length / Math.max(1, parts)));
  const deltas: string[] = [];
  for (let i = 0; i < words.length; i += size) deltas.push(words.slice(i, i + size).join(''));
  deltas[0] = leading + deltas[0];
  return deltas;
}
