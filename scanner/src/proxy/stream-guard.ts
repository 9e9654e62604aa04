// Response-side enforcement for streamed (SSE) answers. Provider parsers stay read-only
// (providers/*); the text-delta shapes below are the only provider knowledge this needs.
import type { ResponseMatch, ResponseMatcher } from '../rules/index.ts';
import { SseDecoder, type SseEvent } from '../providers/sse.ts';

/** How a cut stream ends, in the provider's own error framing so its SDK raises its usual error. */
export type StreamFraming = 'anthropic' | 'openai';

interface TextItem { kind: 'text'; event: SseEvent; json: Record<string, unknown>; set: (json: Record<string, unknown>, text: string) => void; start: number; end: number }
interface RawItem { kind: 'raw'; event: SseEvent }

/**
 * Holds back at most `matcher.window` characters of decoded response text,
 * so a response-rule match split across chunks (or SSE events) is still found
 * whole: matches of `redact` rules are replaced by `[REDACTED]` before the
 * client sees them; a match of a `block` rule ends the stream with the
 * provider's error event, and nothing of the matched text is sent. Non-text
 * events keep their place in the stream.
 *
 * @example
 * const guard = new StreamGuard(matcher, 'openai');
 * res.write(guard.push(chunkText)); // ...
 * res.end(guard.end());
 */
export class StreamGuard {
  /** the block match that cut the stream, once it happened */
  blocked: ResponseMatch | null = null;
  /** every match acted on or seen (redact and alert), once each */
  readonly matches: ResponseMatch[] = [];
  private readonly decoder: SseDecoder;
  private readonly queue: Array<TextItem | RawItem> = [];
  private buffer = '';
  private bufferStart = 0;
  private redactions: Array<{ start: number; end: number }> = [];
  private readonly seen = new Set<string>();

  constructor(private readonly matcher: ResponseMatcher, private readonly framing: StreamFraming) {
    this.decoder = new SseDecoder((e) => this.onEvent(e));
  }

  /** Feeds decoded upstream text; returns the SSE text safe to send now. After a block, returns the error frame once, then ''. */
  push(text: string): string {
    if (this.blocked) return '';
    this.decoder.push(text);
    return this.settle(false);
  }

  /** The upstream ended: everything left is final. */
  end(): string {
    if (this.blocked) return '';
    this.decoder.end();
    return this.settle(true);
  }

  private onEvent(event: SseEvent): void {
    let json: unknown = null;
    try {
      json = event.data.startsWith('{') ? JSON.parse(event.data) : null;
    } catch {
      json = null;
    }
    const delta = json && typeof json === 'object' ? textDelta(json as Record<string, unknown>) : null;
    if (!delta) {
      this.queue.push({ kind: 'raw', event });
      return;
    }
    const start = this.bufferStart + this.buffer.length;
    this.buffer += delta.text;
    this.queue.push({ kind: 'text', event, json: json as Record<string, unknown>, set: delta.set, start, end: start + delta.text.length });
  }

  private settle(final: boolean): string {
    const end = this.bufferStart + this.buffer.length;
    let cut = final ? end : Math.max(this.bufferStart, end - this.matcher.window);
    const found = this.matcher.find(this.buffer).map((m) => ({ ...m, start: m.start + this.bufferStart, end: m.end + this.bufferStart }));
    const block = found.find((m) => m.action === 'block');
    // the matched text of a block is still held back: it never reaches the client
    if (block) cut = Math.min(cut, block.start);
    for (const m of found) if (m.start < cut && m.end > cut) cut = m.start; // still growing, or split: hold the whole match
    for (const m of found) {
      if (m.end > cut || m.action === 'block') continue;
      this.note(m);
      if (m.action === 'redact' && !this.redactions.some((r) => r.start === m.start && r.end === m.end)) this.redactions.push({ start: m.start, end: m.end });
    }
    const out = this.flushUpTo(cut);
    if (!block) return out;
    this.blocked = block;
    this.note(block);
    return out + errorFrame(this.framing, block.ruleName);
  }

  private note(m: ResponseMatch): void {
    const key = `${m.ruleId}|${m.start}|${m.end}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.matches.push(m);
  }

  private flushUpTo(cut: number): string {
    let out = '';
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      if (item.kind === 'raw') {
        out += frame(item.event);
        this.queue.shift();
        continue;
      }
      if (item.end <= cut) {
        out += this.emitText(item, item.start, item.end);
        this.queue.shift();
        continue;
      }
      if (item.start < cut) {
        out += this.emitText(item, item.start, cut);
        item.start = cut;
      }
      break;
    }
    this.buffer = this.buffer.slice(cut - this.bufferStart);
    this.bufferStart = cut;
    this.redactions = this.redactions.filter((r) => r.end > cut);
    return out;
  }

  private emitText(item: TextItem, from: number, to: number): string {
    let text = '';
    let at = from;
    for (const r of [...this.redactions].sort((a, b) => a.start - b.start)) {
      if (r.end <= from || r.start >= to) {
        // a span that began before `from` and ends inside it was already replaced in an earlier piece
        continue;
      }
      if (r.start >= at) {
        text += this.slice(at, r.start);
        text += '[REDACTED]';
      }
      at = Math.max(at, Math.min(r.end, to));
    }
    text += this.slice(at, to);
    const json = structuredClone(item.json);
    item.set(json, text);
    return frame({ event: item.event.event, data: JSON.stringify(json) });
  }

  private slice(from: number, to: number): string {
    return from >= to ? '' : this.buffer.slice(from - this.bufferStart, to - this.bufferStart);
  }
}

/** The text a streamed event adds to the answer, and how to put other text in its place. */
function textDelta(json: Record<string, unknown>): { text: string; set: TextItem['set'] } | null {
  // Anthropic messages: content_block_delta / text_delta
  const delta = json.delta as Record<string, unknown> | undefined;
  if (json.type === 'content_block_delta' && delta && delta.type === 'text_delta' && typeof delta.text === 'string') {
    return { text: delta.text, set: (j, t) => { (j.delta as Record<string, unknown>).text = t; } };
  }
  // OpenAI Responses API
  if (json.type === 'response.output_text.delta' && typeof json.delta === 'string') {
    return { text: json.delta, set: (j, t) => { j.delta = t; } };
  }
  // OpenAI chat completions and the OpenAI-compatible APIs (one choice; n > 1 is not inspected)
  const choices = json.choices;
  if (Array.isArray(choices) && choices.length === 1) {
    const d = (choices[0] as Record<string, unknown> | undefined)?.delta as Record<string, unknown> | undefined;
    if (d && typeof d.content === 'string') {
      return { text: d.content, set: (j, t) => { (((j.choices as unknown[])[0] as Record<string, unknown>).delta as Record<string, unknown>).content = t; } };
    }
  }
  return null;
}

function frame(e: SseEvent): string {
  const data = e.data.split('\n').map((l) => `data: ${l}\n`).join('');
  return e.event === 'message' ? `${data}\n` : `event: ${e.event}\n${data}\n`;
}

/** The last frame of a stream cut by a block rule. */
export function errorFrame(framing: StreamFraming, ruleName: string): string {
  const message = `Response blocked by Higgs policy: ${ruleName}`;
  if (framing === 'anthropic') {
    return frame({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'permission_error', message } }) });
  }
  return frame({ event: 'message', data: JSON.stringify({ error: { message, type: 'higgs_policy_block', param: null, code: 'higgs_blocked' } }) });
}
