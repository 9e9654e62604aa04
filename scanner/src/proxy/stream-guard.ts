// Response-side enforcement for streamed answers: SSE for most providers, the AWS
// event-stream binary framing for Bedrock. Provider parsers stay read-only
// (providers/*); the text-delta shapes below are the only provider knowledge this needs.
import type { Provider } from '@higgs/schema';
import { encodeEventStreamMessage, EventStreamDecoder, type EventStreamMessage } from '../providers/bedrock/event-stream.ts';
import { SseDecoder, type SseEvent } from '../providers/sse.ts';
import type { ResponseMatch, ResponseMatcher } from '../rules/index.ts';

/**
 * How a stream is framed, and so how a cut stream ends: in the provider's own
 * error framing, so its SDK raises (or reports) its usual error.
 */
export type StreamFraming = 'anthropic' | 'openai' | 'cohere' | 'gemini' | 'bedrock';

/** The framing of a streamed response, or null when the response is not a stream the guard can read. */
export function streamFramingFor(provider: Provider, contentType: string | undefined): StreamFraming | null {
  const type = contentType ?? '';
  if (/application\/vnd\.amazon\.eventstream/i.test(type)) return provider === 'bedrock' ? 'bedrock' : null;
  if (!/text\/event-stream/i.test(type)) return null;
  if (provider === 'anthropic' || provider === 'cohere' || provider === 'gemini') return provider;
  // OpenAI, Azure, Mistral, Together and OpenAI-compatible servers share the chat-completions chunk and its error line
  return 'openai';
}

/**
 * Text of the answer carried by one event, and how to render the event with other text in its place.
 * An SSE event is held as its frame text (one flat string, no Buffer): a held Buffer would be a
 * slice of an 8 KB pool slab and keep the whole slab alive while the stream idles, and `render`
 * re-parses the event's data rather than keeping its parsed JSON for the life of the item.
 */
interface TextItem { kind: 'text'; start: number; end: number; readonly whole: { start: number; end: number }; original: Buffer | string; render: (text: string) => Buffer }
interface RawItem { kind: 'raw'; bytes: Buffer | string }
type Item = TextItem | RawItem;

/**
 * Holds back at most `matcher.window` characters of decoded response text,
 * so a response-rule match split across chunks (or events) is still found
 * whole: matches of `redact` rules are replaced by `[REDACTED]` before the
 * client sees them; a match of a `block` rule ends the stream with the
 * provider's error event, and nothing of the matched text is sent. Non-text
 * events keep their place in the stream and their bytes; a text event far
 * from any match is sent as it came.
 *
 * @example
 * const guard = new StreamGuard(matcher, 'openai');
 * res.write(guard.push(chunk)); // ...
 * res.end(guard.end());
 */
export class StreamGuard {
  /** the block match that cut the stream, once it happened */
  blocked: ResponseMatch | null = null;
  /** why the stream could not be read (a corrupt frame): it was cut there, nothing after it sent */
  failed: string | null = null;
  /** every match acted on or seen (redact and alert), once each */
  readonly matches: ResponseMatch[] = [];
  private readonly sse: SseDecoder | null = null;
  private readonly eventStream: EventStreamDecoder | null = null;
  private readonly utf8 = new TextDecoder('utf-8');
  private readonly queue: Item[] = [];
  private buffer = '';
  private bufferStart = 0;
  private redactions: Array<{ start: number; end: number }> = [];
  /** the matches already noted; allocated on the first match (most streams have none) */
  private seen: Set<string> | null = null;

  constructor(private readonly matcher: ResponseMatcher, private readonly framing: StreamFraming) {
    if (framing === 'bedrock') this.eventStream = new EventStreamDecoder((m) => this.onMessage(m));
    else this.sse = new SseDecoder((e) => this.onEvent(e));
  }

  /** What the guard holds back now: characters of text and queued events (bounded by the window, whatever the stream's length). */
  get held(): { chars: number; events: number } {
    return { chars: this.buffer.length, events: this.queue.length };
  }

  /** true once the stream was cut (block or corrupt frame): nothing more is sent */
  get cut(): boolean {
    return this.blocked !== null || this.failed !== null;
  }

  /** Feeds upstream bytes (identity-encoded); returns the bytes safe to send now. After a cut, returns the error frame once, then nothing. */
  push(chunk: Uint8Array | string): Buffer {
    if (this.cut) return EMPTY;
    if (this.eventStream) {
      try {
        this.eventStream.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      } catch (err) {
        return this.fail(err);
      }
    } else {
      try {
        this.sse!.push(typeof chunk === 'string' ? chunk : this.utf8.decode(chunk, { stream: true }));
      } catch (err) {
        return this.fail(err);
      }
    }
    return this.settle(false);
  }

  /** The upstream ended: everything left is final. */
  end(): Buffer {
    if (this.cut) return EMPTY;
    if (this.eventStream) {
      try {
        this.eventStream.end();
      } catch (err) {
        return this.fail(err);
      }
    } else {
      try {
        this.sse!.push(this.utf8.decode());
        this.sse!.end();
      } catch (err) {
        return this.fail(err);
      }
    }
    return this.settle(true);
  }

  private fail(err: unknown): Buffer {
    // the text before the corrupt frame was decoded and is inspected as final; nothing after it can be read
    const out = this.settle(true);
    this.failed = err instanceof Error ? err.message : String(err);
    if (this.blocked) return out;
    return Buffer.concat([out, errorFrame(this.framing, 'Higgs proxy: the provider stream could not be read')]);
  }

  private onEvent(event: SseEvent): void {
    let json: unknown = null;
    try {
      json = event.data.startsWith('{') ? JSON.parse(event.data) : null;
    } catch {
      json = null;
    }
    const delta = json && typeof json === 'object' ? textDelta(json as Record<string, unknown>) : null;
    const original = frame(event);
    if (!delta) {
      this.queue.push({ kind: 'raw', bytes: original });
      return;
    }
    this.pushText(delta.text, original, (text) => renderSse(event, text));
  }

  private onMessage(m: EventStreamMessage): void {
    const eventType = m.headers[':event-type'];
    const headers = stringHeaders(m.headers);
    const payload = m.headers[':message-type'] === 'event' && headers ? parseJson(Buffer.from(m.payload).toString('utf8')) : null;
    if (!isRecord(payload)) {
      this.queue.push({ kind: 'raw', bytes: m.frame });
      return;
    }
    if (eventType === 'chunk') {
      // InvokeModelWithResponseStream: {"bytes": base64 of the model's own stream event, "p": padding}
      const inner = typeof payload.bytes === 'string' ? parseJson(Buffer.from(payload.bytes, 'base64').toString('utf8')) : null;
      const delta = isRecord(inner) ? textDelta(inner) : null;
      if (!delta) {
        this.queue.push({ kind: 'raw', bytes: m.frame });
        return;
      }
      this.pushText(delta.text, m.frame, (text) => {
        const copy = structuredClone(inner as Record<string, unknown>);
        delta.set(copy, text);
        return encodeEventStreamMessage(headers!, Buffer.from(JSON.stringify({ ...payload, bytes: Buffer.from(JSON.stringify(copy)).toString('base64') })));
      });
      return;
    }
    // ConverseStream: contentBlockDelta {"contentBlockIndex", "delta": {"text"}, "p"}
    const d = eventType === 'contentBlockDelta' && isRecord(payload.delta) ? payload.delta : null;
    if (!d || typeof d.text !== 'string') {
      this.queue.push({ kind: 'raw', bytes: m.frame });
      return;
    }
    this.pushText(d.text, m.frame, (text) => encodeEventStreamMessage(headers!, Buffer.from(JSON.stringify({ ...payload, delta: { ...d, text } }))));
  }

  private pushText(text: string, original: Buffer | string, render: (text: string) => Buffer): void {
    const start = this.bufferStart + this.buffer.length;
    this.buffer += text;
    const end = start + text.length;
    this.queue.push({ kind: 'text', start, end, whole: { start, end }, original, render });
  }

  private settle(final: boolean): Buffer {
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
    return Buffer.concat([out, errorFrame(this.framing, `Response blocked by Higgs policy: ${block.ruleName}`)]);
  }

  private note(m: ResponseMatch): void {
    const key = `${m.ruleId}|${m.start}|${m.end}`;
    this.seen ??= new Set();
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.matches.push(m);
  }

  private flushUpTo(cut: number): Buffer {
    const out: Array<Buffer | string> = [];
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      if (item.kind === 'raw') {
        out.push(item.bytes);
        this.queue.shift();
        continue;
      }
      if (item.end <= cut) {
        out.push(this.emitText(item, item.start, item.end));
        this.queue.shift();
        continue;
      }
      if (item.start < cut) {
        out.push(this.emitText(item, item.start, cut));
        item.start = cut;
      }
      break;
    }
    this.buffer = this.buffer.slice(cut - this.bufferStart);
    this.bufferStart = cut;
    if (this.redactions.length > 0) this.redactions = this.redactions.filter((r) => r.end > cut);
    return toBuffer(out);
  }

  private emitText(item: TextItem, from: number, to: number): Buffer | string {
    const touched = this.redactions.filter((r) => r.end > from && r.start < to);
    // the common case: a whole event with nothing to change goes out as it came, not re-serialised
    if (touched.length === 0 && from === item.whole.start && to === item.whole.end) return item.original;
    let text = '';
    let at = from;
    for (const r of touched.sort((a, b) => a.start - b.start)) {
      // a span that began before `from` was already replaced in an earlier piece
      if (r.start >= at) {
        text += this.slice(at, r.start);
        text += '[REDACTED]';
      }
      at = Math.max(at, Math.min(r.end, to));
    }
    text += this.slice(at, to);
    return item.render(text);
  }

  private slice(from: number, to: number): string {
    return from >= to ? '' : this.buffer.slice(from - this.bufferStart, to - this.bufferStart);
  }
}

const EMPTY = Buffer.alloc(0);

/** SSE frames (strings) go out as one Buffer; Bedrock frames are Buffers already. */
function toBuffer(parts: ReadonlyArray<Buffer | string>): Buffer {
  if (parts.length === 0) return EMPTY;
  if (parts.every((p) => typeof p === 'string')) return Buffer.from(parts.join(''));
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

/** The event with `text` as its answer text: the data is parsed again (rare: only a redacted piece is re-rendered). */
function renderSse(event: SseEvent, text: string): Buffer {
  const copy = JSON.parse(event.data) as Record<string, unknown>;
  textDelta(copy)!.set(copy, text);
  return Buffer.from(frame({ event: event.event, data: JSON.stringify(copy) }));
}

/** The text a streamed event adds to the answer, and how to put other text in its place. */
function textDelta(json: Record<string, unknown>): { text: string; set: (json: Record<string, unknown>, text: string) => void } | null {
  const delta = json.delta as Record<string, unknown> | undefined;
  // Anthropic messages (also inside Bedrock chunks): content_block_delta / text_delta
  if (json.type === 'content_block_delta' && isRecord(delta) && delta.type === 'text_delta' && typeof delta.text === 'string') {
    return { text: delta.text, set: (j, t) => { (j.delta as Record<string, unknown>).text = t; } };
  }
  // OpenAI Responses API
  if (json.type === 'response.output_text.delta' && typeof json.delta === 'string') {
    return { text: json.delta, set: (j, t) => { j.delta = t; } };
  }
  // Cohere v2: content-delta {"delta": {"message": {"content": {"text"}}}}
  if (json.type === 'content-delta' && isRecord(delta) && isRecord(delta.message) && isRecord(delta.message.content) && typeof delta.message.content.text === 'string') {
    return { text: delta.message.content.text, set: (j, t) => { (((j.delta as Record<string, unknown>).message as Record<string, unknown>).content as Record<string, unknown>).text = t; } };
  }
  // OpenAI chat completions and the OpenAI-compatible APIs (one choice; n > 1 is not inspected)
  const choices = json.choices;
  if (Array.isArray(choices) && choices.length === 1) {
    const d = (choices[0] as Record<string, unknown> | undefined)?.delta as Record<string, unknown> | undefined;
    if (d && typeof d.content === 'string') {
      return { text: d.content, set: (j, t) => { (((j.choices as unknown[])[0] as Record<string, unknown>).delta as Record<string, unknown>).content = t; } };
    }
  }
  // Gemini: one candidate whose answer text is in its (non-thought) text parts; the text goes back into the first of them
  const candidates = json.candidates;
  if (Array.isArray(candidates) && candidates.length === 1 && isRecord(candidates[0]) && isRecord(candidates[0].content) && Array.isArray(candidates[0].content.parts)) {
    const parts = candidates[0].content.parts;
    const texts = parts.flatMap((p, i) => (isRecord(p) && typeof p.text === 'string' && p.thought !== true ? [i] : []));
    if (texts.length === 0) return null;
    return {
      text: texts.map((i) => (parts[i] as { text: string }).text).join(''),
      set: (j, t) => {
        const ps = ((j.candidates as Array<Record<string, unknown>>)[0]!.content as Record<string, unknown>).parts as Array<Record<string, unknown>>;
        texts.forEach((i, n) => { ps[i]!.text = n === 0 ? t : ''; });
      },
    };
  }
  // Bedrock InvokeModel streams of other model families: Titan Text (outputText), Meta Llama (generation)
  if (typeof json.outputText === 'string') return { text: json.outputText, set: (j, t) => { j.outputText = t; } };
  if (typeof json.generation === 'string') return { text: json.generation, set: (j, t) => { j.generation = t; } };
  // Amazon Nova on InvokeModel: the Converse event as a key of the chunk
  const nova = isRecord(json.contentBlockDelta) && isRecord(json.contentBlockDelta.delta) ? json.contentBlockDelta.delta : null;
  if (nova && typeof nova.text === 'string') {
    return { text: nova.text, set: (j, t) => { ((j.contentBlockDelta as Record<string, unknown>).delta as Record<string, unknown>).text = t; } };
  }
  return null;
}

function frame(e: SseEvent): string {
  const data = e.data.split('\n').map((l) => `data: ${l}\n`).join('');
  return e.event === 'message' ? `${data}\n` : `event: ${e.event}\n${data}\n`;
}

/**
 * The last frame of a cut stream, in the provider's error framing:
 * - OpenAI family: a `data:` line with an OpenAI error object (the SDKs raise an APIError);
 * - Anthropic: an `error` event with a `permission_error` (the SDK raises);
 * - Gemini: a chunk that is a google.rpc.Status with code 403 (@google/genai raises ApiError 403);
 * - Cohere: `message-end` with `finish_reason: ERROR` and the reason in `delta.error` (cohere-ai reports it, does not raise);
 * - Bedrock: an event-stream `exception` message `modelStreamErrorException` (the AWS SDK raises ModelStreamErrorException).
 */
export function errorFrame(framing: StreamFraming, message: string): Buffer {
  switch (framing) {
    case 'anthropic':
      return Buffer.from(frame({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'permission_error', message } }) }));
    case 'cohere':
      return Buffer.from(frame({ event: 'message-end', data: JSON.stringify({ type: 'message-end', delta: { error: message, finish_reason: 'ERROR' } }) }));
    case 'gemini':
      return Buffer.from(frame({ event: 'message', data: JSON.stringify({ error: { code: 403, message, status: 'PERMISSION_DENIED' } }) }));
    case 'bedrock':
      return encodeEventStreamMessage(
        { ':message-type': 'exception', ':exception-type': 'modelStreamErrorException', ':content-type': 'application/json' },
        Buffer.from(JSON.stringify({ message, originalStatusCode: 403 })),
      );
    case 'openai':
      return Buffer.from(frame({ event: 'message', data: JSON.stringify({ error: { message, type: 'higgs_policy_block', param: null, code: 'higgs_blocked' } }) }));
  }
}

/** Bedrock sends string headers only; a message with any other kind is relayed as is (its text still reaches the response parser). */
function stringHeaders(h: EventStreamMessage['headers']): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (typeof v !== 'string') return null;
    out[k] = v;
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
