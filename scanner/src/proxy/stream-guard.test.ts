import type { Rule, ScannerPolicy } from '@higgs/schema';
import { describe, expect, it } from 'vitest';
import { SseDecoder, type SseEvent } from '../providers/sse.ts';
import { compilePolicy, type RuleInput } from '../rules/index.ts';
import { encodeEventStreamMessage, EventStreamDecoder, type EventStreamMessage } from '../providers/bedrock/event-stream.ts';
import { StreamGuard, streamFramingFor } from './stream-guard.ts';

const input: RuleInput = {
  provider: 'openai', model: 'gpt-4o-mini', host: 'api.openai.com', namespace: 'support', app: 'bot', userId: null,
  promptText: 'hi', detections: [], injectionScore: 0, toolNames: [],
};
function matcher(rules: Array<Pick<Rule, 'action' | 'match'>>) {
  const policy: ScannerPolicy = {
    version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
    rules: rules.map((r, i) => ({ id: `r${i}`, name: `rule ${i}`, enabled: true, createdBy: 't', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null, ...r })),
  };
  return compilePolicy(policy, { maxMatchSpan: 16 }).responseRules(input)!;
}

const openaiChunk = (content: string): string => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
const OPENAI = `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n${
  ['The code is ', 'TOP SEC', 'RET and the k', 'ey is sk-abc', 'def12345 ok.'].map(openaiChunk).join('')
}data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n`;

const anthropicDelta = (text: string): string => `event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })}\n\n`;
const ANTHROPIC = `event: message_start\ndata: {"type":"message_start","message":{"id":"m1","role":"assistant","content":[]}}\n\n${
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
}${anthropicDelta('Here: TOP ')}event: ping\ndata: {"type":"ping"}\n\n${anthropicDelta('SECRET plans')}${
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n'}`;

function events(sse: string): SseEvent[] {
  const out: SseEvent[] = [];
  const d = new SseDecoder((e) => out.push(e));
  d.push(sse);
  d.end();
  return out;
}
function openaiText(sse: string): string {
  return events(sse).filter((e) => e.data !== '[DONE]').map((e) => (JSON.parse(e.data) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ?? '').join('');
}
function anthropicText(sse: string): string {
  return events(sse).map((e) => (JSON.parse(e.data) as { delta?: { text?: string } }).delta?.text ?? '').join('');
}
// every split of the stream into two pieces, plus one character at a time
function splits(s: string): string[][] {
  const out: string[][] = [[...s]];
  for (let i = 0; i <= s.length; i++) out.push([s.slice(0, i), s.slice(i)]);
  return out;
}
const dedupe = (xs: string[]): string[] => xs.filter((x, i) => x !== xs[i - 1]);
function run(guard: StreamGuard, pieces: string[]): string {
  return Buffer.concat([...pieces.map((p) => guard.push(p)), guard.end()]).toString('utf8');
}

describe('StreamGuard', () => {
  it('redacts matches split across chunks at every split point, keeping every other event in place', () => {
    const rules = [{ action: 'redact' as const, match: { responseContains: ['top secret'] } }, { action: 'redact' as const, match: { responsePattern: 'sk-[a-z0-9]{6,}' } }];
    for (const pieces of splits(OPENAI)) {
      const guard = new StreamGuard(matcher(rules), 'openai');
      const out = run(guard, pieces);
      expect(openaiText(out)).toBe('The code is [REDACTED] and the key is [REDACTED] ok.');
      expect(out).toContain('"finish_reason":"stop"');
      expect(out.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(guard.matches.map((m) => m.ruleId).sort()).toEqual(['r0', 'r1']);
      expect(guard.blocked).toBeNull();
    }
  });

  it('cuts an OpenAI stream with an error data line before the blocked text, at every split point', () => {
    for (const pieces of splits(OPENAI)) {
      const guard = new StreamGuard(matcher([{ action: 'block', match: { responseContains: ['top secret'] } }]), 'openai');
      const out = run(guard, pieces);
      expect(out).not.toMatch(/SEC/);
      expect(out).not.toContain('[DONE]');
      const last = events(out).at(-1)!;
      expect(JSON.parse(last.data)).toEqual({ error: { message: 'Response blocked by Higgs policy: rule 0', type: 'higgs_policy_block', param: null, code: 'higgs_blocked' } });
      expect(openaiText(out.slice(0, out.lastIndexOf('data: {"error"')))).toBe('The code is ');
      expect(guard.blocked).toMatchObject({ ruleId: 'r0', start: 12, end: 22 });
    }
  });

  it('cuts an Anthropic stream with an error event, and redacts across a ping', () => {
    for (const pieces of splits(ANTHROPIC)) {
      const guard = new StreamGuard(matcher([{ action: 'block', match: { responseContains: ['top secret'] } }]), 'anthropic');
      const out = run(guard, pieces);
      const last = events(out).at(-1)!;
      expect(last.event).toBe('error');
      expect(JSON.parse(last.data)).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
      expect(anthropicText(out)).toBe('Here: ');
    }
    for (const pieces of splits(ANTHROPIC)) {
      const guard = new StreamGuard(matcher([{ action: 'redact', match: { responseContains: ['top secret'] } }]), 'anthropic');
      const out = run(guard, pieces);
      expect(anthropicText(out)).toBe('Here: [REDACTED] plans');
      // a held delta may go out as two events; the order of event kinds stays the same
      expect(events(out).map((e) => e.event).filter((e, i, all) => e !== all[i - 1])).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'ping', 'content_block_delta', 'content_block_stop', 'message_stop']);
    }
  });

  it('holds back no more than the window: text far from any match flows as it arrives', () => {
    const guard = new StreamGuard(matcher([{ action: 'redact', match: { responseContains: ['0123456789'] } }]), 'openai');
    const out = guard.push(openaiChunk('a'.repeat(100))).toString();
    expect(openaiText(out)).toBe('a'.repeat(91)); // window = longest literal - 1
    expect(openaiText(guard.end().toString())).toBe('a'.repeat(9));
  });

  it('keeps only the bounded window of a long stream, whatever its length (memory of an open stream)', () => {
    const guard = new StreamGuard(matcher([{ action: 'redact', match: { responseContains: ['0123456789'] } }]), 'openai');
    let sent = '';
    for (let i = 0; i < 5_000; i++) {
      sent += openaiText(guard.push(`${openaiChunk(`word ${i} `)}event: ping\ndata: {}\n\n`).toString());
      expect(guard.held.chars).toBeLessThanOrEqual(9);
      // the 9-character window reaches into at most two 7-character text events, each with its ping queued behind it
      expect(guard.held.events).toBeLessThanOrEqual(4);
    }
    sent += openaiText(guard.end().toString());
    expect(sent).toBe(Array.from({ length: 5_000 }, (_, i) => `word ${i} `).join(''));
    expect(guard.held).toEqual({ chars: 0, events: 0 });
  });

  it('reads Cohere content-delta events: redacts across them and ends a cut stream with message-end ERROR', () => {
    const delta = (text: string): string => `event: content-delta\ndata: ${JSON.stringify({ type: 'content-delta', index: 0, delta: { message: { content: { text } } } })}\n\n`;
    const COHERE = `event: message-start\ndata: {"type":"message-start","id":"c1","delta":{"message":{"role":"assistant"}}}\n\n${
      ['Here: TOP ', 'SEC', 'RET plans'].map(delta).join('')}event: message-end\ndata: {"type":"message-end","delta":{"finish_reason":"COMPLETE"}}\n\n`;
    const text = (sse: string): string => events(sse).map((e) => (JSON.parse(e.data) as { delta?: { message?: { content?: { text?: string } } } }).delta?.message?.content?.text ?? '').join('');
    for (const pieces of splits(COHERE)) {
      expect(text(run(new StreamGuard(matcher([{ action: 'redact', match: { responseContains: ['top secret'] } }]), 'cohere'), pieces))).toBe('Here: [REDACTED] plans');
      const out = run(new StreamGuard(matcher([{ action: 'block', match: { responseContains: ['top secret'] } }]), 'cohere'), pieces);
      expect(text(out)).toBe('Here: ');
      expect(events(out).at(-1)).toEqual({ event: 'message-end', data: JSON.stringify({ type: 'message-end', delta: { error: 'Response blocked by Higgs policy: rule 0', finish_reason: 'ERROR' } }) });
    }
  });

  it('reads Gemini chunks (text parts of the one candidate, thoughts left alone): redacts, and cuts with a 403 status chunk', () => {
    const chunk = (parts: unknown[], extra: Record<string, unknown> = {}): string => `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts }, index: 0, ...extra }], modelVersion: 'gemini-2.5-flash' })}\r\n\r\n`;
    const GEMINI = chunk([{ text: 'thinking about TOP SECRET', thought: true }]) + chunk([{ text: 'Here: TOP ' }]) + chunk([{ text: 'SE' }, { text: 'CRET plans' }])
      + chunk([{ text: '' }], { finishReason: 'STOP' });
    const parts = (sse: string): Array<{ text: string; thought?: boolean }> => events(sse).flatMap((e) => (JSON.parse(e.data) as { candidates?: Array<{ content: { parts: Array<{ text: string; thought?: boolean }> } }> }).candidates?.[0]?.content.parts ?? []);
    for (const pieces of splits(GEMINI)) {
      const redacted = parts(run(new StreamGuard(matcher([{ action: 'redact', match: { responseContains: ['top secret'] } }]), 'gemini'), pieces));
      expect(redacted.filter((p) => !p.thought).map((p) => p.text).join('')).toBe('Here: [REDACTED] plans');
      expect(redacted[0]).toEqual({ text: 'thinking about TOP SECRET', thought: true });
      const out = run(new StreamGuard(matcher([{ action: 'block', match: { responseContains: ['top secret'] } }]), 'gemini'), pieces);
      expect(parts(out).filter((p) => !p.thought).map((p) => p.text).join('')).toBe('Here: ');
      expect(JSON.parse(events(out).at(-1)!.data)).toEqual({ error: { code: 403, message: 'Response blocked by Higgs policy: rule 0', status: 'PERMISSION_DENIED' } });
    }
  });

  describe('Bedrock event-stream', () => {
    const headers = (type: string) => ({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' });
    const invokeChunk = (event: unknown): Buffer => encodeEventStreamMessage(headers('chunk'), Buffer.from(JSON.stringify({ bytes: Buffer.from(JSON.stringify(event)).toString('base64'), p: 'abcdef' })));
    const converse = (type: string, payload: unknown): Buffer => encodeEventStreamMessage(headers(type), Buffer.from(JSON.stringify(payload)));
    const decode = (bytes: Buffer): EventStreamMessage[] => {
      const out: EventStreamMessage[] = [];
      const d = new EventStreamDecoder((m) => out.push(m));
      d.push(bytes);
      d.end();
      return out;
    };
    const json = (m: EventStreamMessage): Record<string, unknown> => JSON.parse(Buffer.from(m.payload).toString('utf8')) as Record<string, unknown>;
    const byteSplits = (b: Buffer): Buffer[][] => [Array.from({ length: Math.ceil(b.length / 7) }, (_, i) => b.subarray(i * 7, i * 7 + 7)), ...Array.from({ length: b.length + 1 }, (_, i) => [b.subarray(0, i), b.subarray(i)])];
    const runBytes = (guard: StreamGuard, pieces: Buffer[]): Buffer => Buffer.concat([...pieces.map((p) => guard.push(p)), guard.end()]);

    it('InvokeModelWithResponseStream: redacts inside the base64 chunk of each model family, keeping other frames byte for byte', () => {
      const start = invokeChunk({ type: 'message_start', message: { id: 'm1', role: 'assistant', content: [] } });
      const stream = Buffer.concat([start, ...['Here: TOP ', 'SECRET plans'].map((text) => invokeChunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
        ...['and top', ' secret'].map((outputText) => invokeChunk({ outputText, index: 0 }))]);
      const innerText = (m: EventStreamMessage): string => {
        const e = JSON.parse(Buffer.from(json(m).bytes as string, 'base64').toString('utf8')) as { delta?: { text?: string }; outputText?: string };
        return e.delta?.text ?? e.outputText ?? '';
      };
      for (const pieces of byteSplits(stream)) {
        const guard = new StreamGuard(matcher([{ action: 'redact', match: { responseContains: ['top secret'] } }]), 'bedrock');
        const out = runBytes(guard, pieces);
        expect(out.subarray(0, start.length).equals(start)).toBe(true);
        const messages = decode(out);
        expect(messages.map(innerText).join('')).toBe('Here: [REDACTED] plansand [REDACTED]');
        expect(messages.every((m) => json(m).p === 'abcdef')).toBe(true);
        expect(guard.matches).toHaveLength(2);
      }
    });

    it('ConverseStream: cuts with a modelStreamErrorException before the blocked text', () => {
      const stream = Buffer.concat([
        converse('messageStart', { role: 'assistant' }),
        ...['Here: TOP ', 'SECRET plans'].map((text) => converse('contentBlockDelta', { contentBlockIndex: 0, delta: { text }, p: 'xy' })),
        converse('messageStop', { stopReason: 'end_turn' }),
      ]);
      for (const pieces of byteSplits(stream)) {
        const guard = new StreamGuard(matcher([{ action: 'block', match: { responseContains: ['top secret'] } }]), 'bedrock');
        const messages = decode(runBytes(guard, pieces));
        // a held delta may go out as two frames; the order of event kinds stays the same
        expect(dedupe(messages.map((m) => String(m.headers[':event-type'] ?? m.headers[':exception-type'])))).toEqual(['messageStart', 'contentBlockDelta', 'modelStreamErrorException']);
        const text = messages.filter((m) => m.headers[':event-type'] === 'contentBlockDelta').map((m) => (json(m).delta as { text: string }).text).join('');
        expect(text).toBe('Here: ');
        expect(messages.at(-1)!.headers[':message-type']).toBe('exception');
        expect(json(messages.at(-1)!)).toEqual({ message: 'Response blocked by Higgs policy: rule 0', originalStatusCode: 403 });
        expect(guard.blocked).toMatchObject({ ruleId: 'r0' });
      }
    });

    it('a corrupt frame cuts the stream with an exception, sending nothing after it', () => {
      const good = converse('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'fine text' } });
      const bad = Buffer.from(converse('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'TOP SECRET' } }));
      bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 0xff, bad.length - 1); // corrupts the message CRC
      const guard = new StreamGuard(matcher([{ action: 'block', match: { responseContains: ['zzz'] } }]), 'bedrock');
      const messages = decode(runBytes(guard, [good, bad]));
      expect(dedupe(messages.map((m) => String(m.headers[':message-type'])))).toEqual(['event', 'exception']);
      expect(messages.slice(0, -1).map((m) => (json(m).delta as { text: string }).text).join('')).toBe('fine text');
      expect(guard.failed).toMatch(/CRC/);
      expect(guard.cut).toBe(true);
    });
  });

  it('an SSE event that never ends is cut at the decoder\'s bound with the error event, not held without end', () => {
    const guard = new StreamGuard(matcher([{ action: 'redact', match: { responseContains: ['TOP SECRET'] } }]), 'openai');
    const sent: Buffer[] = [guard.push(openaiChunk('fine text'))];
    sent.push(guard.push('data: {"choices":[{"index":0,"delta":{"content":"'));
    // 17 MiB of one line, in 1 MiB pieces: past the 16 Mi-character bound of one event
    const mib = 'a'.repeat(1024 * 1024);
    for (let i = 0; i < 17 && !guard.cut; i++) sent.push(guard.push(mib));
    expect(guard.cut).toBe(true);
    expect(guard.failed).toMatch(/over 16777216 characters/);
    expect(guard.held.chars).toBeLessThan(1024);
    const out = Buffer.concat(sent).toString();
    expect(openaiText(out.slice(0, out.lastIndexOf('data: {"error"')))).toBe('fine text');
    expect(events(out).at(-1)!.data).toMatch(/the provider stream could not be read/);
    expect(guard.push('more\n\n').length).toBe(0);
    expect(guard.end().length).toBe(0);
  });

  it('picks the framing from the provider and content type; anything else is not a stream', () => {
    expect(streamFramingFor('bedrock', 'application/vnd.amazon.eventstream')).toBe('bedrock');
    expect(streamFramingFor('openai', 'application/vnd.amazon.eventstream')).toBeNull();
    expect(streamFramingFor('mistral', 'text/event-stream; charset=utf-8')).toBe('openai');
    expect(streamFramingFor('gemini', 'text/event-stream')).toBe('gemini');
    expect(streamFramingFor('cohere', 'text/event-stream')).toBe('cohere');
    expect(streamFramingFor('gemini', 'application/json')).toBeNull();
  });
});
