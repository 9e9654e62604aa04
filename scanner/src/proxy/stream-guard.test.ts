import type { Rule, ScannerPolicy } from '@higgs/schema';
import { describe, expect, it } from 'vitest';
import { SseDecoder, type SseEvent } from '../providers/sse.ts';
import { compilePolicy, type RuleInput } from '../rules/index.ts';
import { StreamGuard } from './stream-guard.ts';

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
function run(guard: StreamGuard, pieces: string[]): string {
  return pieces.map((p) => guard.push(p)).join('') + guard.end();
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
    const out = guard.push(openaiChunk('a'.repeat(100)));
    expect(openaiText(out)).toBe('a'.repeat(91)); // window = longest literal - 1
    expect(openaiText(guard.end())).toBe('a'.repeat(9));
  });
});
