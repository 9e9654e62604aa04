import { IngestEvent, type LlmCall, type ToolCall } from '@higgs/schema';
import { describe, expect, it } from 'vitest';
import { fitEvent, MAX_EVENT_BYTES } from './fit.ts';

const source = { ip: '10.0.0.7', namespace: 'support', app: 'bot', mode: 'enforce' as const };
const attribution = { userId: 'alice', userSource: 'header' as const, traceId: null, parentSpanId: null, sessionId: 's-1' };

function llmCall(over: Partial<LlmCall> = {}): IngestEvent {
  return {
    kind: 'llm_call',
    event: {
      id: 'call_fit_0001', scannerId: 'node-1', ts: '2026-11-22T08:00:00.000Z', durationMs: 12, tap: 'proxy', provider: 'openai', endpoint: 'chat',
      host: 'api.openai.com', path: '/v1/chat/completions', parsed: true, model: 'gpt-4o-mini', stream: false, system: 'You are terse.',
      messages: [{ role: 'user', content: 'hello' }], tools: [], response: { content: 'hi', finishReason: 'stop', toolCalls: [] },
      usage: { inputTokens: 3, outputTokens: 1 }, status: 200, error: null, source, attribution,
      detections: [{ type: 'email', field: 'prompt', hash: '0123456789abcdef' }], injectionScore: 3, verdict: 'alert', ruleIds: ['r1'], ...over,
    },
  };
}
const bytes = (json: string): number => Buffer.byteLength(json);
const parsed = (json: string): IngestEvent => IngestEvent.parse(JSON.parse(json));

describe('fitEvent', () => {
  it('leaves an event within the bound, and other kinds, alone', () => {
    expect(fitEvent(llmCall())).toBeNull();
    expect(fitEvent(llmCall({ messages: [{ role: 'user', content: 'x'.repeat(100_000) }] }), 200_000)).toBeNull();
    const decision: IngestEvent = {
      kind: 'decision',
      event: { id: 'dec_fit_0001', scannerId: 'node-1', ts: '2026-11-22T08:00:00.000Z', callId: null, ruleId: null, action: 'alert', primitive: 'inline', latencyUs: 1, matchedField: null, matchedHash: null, sessionId: null, source },
    };
    expect(fitEvent(decision, 10)).toBeNull();
  });

  it('cuts a call larger than the bound (12 MB prompt, 6 MB answer) to fit, keeping the start of each text, the cut marked, the findings whole', () => {
    const prompt = `Contract: [EMAIL:1a2b3c4d] ${'lorem ipsum '.repeat(1_000_000)}`;
    const event = llmCall({ messages: [{ role: 'system', content: 'rules' }, { role: 'user', content: prompt }], response: { content: 'y'.repeat(6_000_000), finishReason: 'stop', toolCalls: [] } });
    const fitted = fitEvent(event)!;
    expect(bytes(fitted.json)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    const call = parsed(fitted.json).event as LlmCall;
    expect(call.messages[0]!.content).toBe('rules');
    expect(call.messages[1]!.content.startsWith('Contract: [EMAIL:1a2b3c4d] lorem ipsum')).toBe(true);
    const kept = call.messages[1]!.content.indexOf('…[higgs: ');
    expect(call.messages[1]!.content.slice(kept)).toBe(`…[higgs: ${prompt.length - kept} characters not recorded]`);
    expect(call.response!.content).toMatch(/^y+…\[higgs: \d+ characters not recorded\]$/);
    expect(fitted.cutChars).toBe(prompt.length - kept + 6_000_000 - call.response!.content!.indexOf('…'));
    expect(fitted.cutMessages).toBe(0);
    expect(call).toMatchObject({ id: 'call_fit_0001', detections: (event.event as LlmCall).detections, injectionScore: 3, verdict: 'alert', attribution });
  });

  it('counts UTF-8 bytes, not characters', () => {
    const event = llmCall({ messages: [{ role: 'user', content: '€'.repeat(200_000) }] }); // 600 000 bytes as UTF-8
    const fitted = fitEvent(event, 300_000)!;
    expect(bytes(fitted.json)).toBeLessThanOrEqual(300_000);
    expect(fitted.json.length).toBeLessThan(110_000);
  });

  it('a conversation too long even with every text short keeps its first and last messages, the gap marked', () => {
    const messages = Array.from({ length: 20_000 }, (_, i) => ({ role: (i % 2 ? 'assistant' : 'user') as 'user' | 'assistant', content: `turn ${i} ${'z'.repeat(1_000)}` }));
    const fitted = fitEvent(llmCall({ messages }), 1_000_000)!;
    expect(bytes(fitted.json)).toBeLessThanOrEqual(1_000_000);
    const call = parsed(fitted.json).event as LlmCall;
    expect(call.messages[0]!.content.startsWith('turn 0 ')).toBe(true);
    expect(call.messages.at(-1)!.content.startsWith('turn 19999 ')).toBe(true);
    expect(fitted.cutMessages).toBe(20_000 - call.messages.length);
    expect(call.messages.filter((m) => m.content.endsWith(`…[higgs: ${fitted.cutMessages} messages not recorded]`))).toHaveLength(1);
  });

  it('cuts an MCP tool call\'s input and output the same way', () => {
    const tool: ToolCall = {
      id: 'tc_fit_0001', scannerId: 'node-1', ts: '2026-11-22T08:00:00.000Z', durationMs: 3, host: 'mcp.internal', method: 'tools/call', toolName: 'read_file',
      input: '{"path":"/etc/hosts"}', output: 'o'.repeat(500_000), isError: false, source, attribution, detections: [], verdict: 'allow', ruleIds: [],
    };
    const fitted = fitEvent({ kind: 'tool_call', event: tool }, 100_000)!;
    const call = parsed(fitted.json).event as ToolCall;
    expect(call.input).toBe('{"path":"/etc/hosts"}');
    expect(call.output).toMatch(/^o+…\[higgs: \d+ characters not recorded\]$/);
    expect(bytes(fitted.json)).toBeLessThanOrEqual(100_000);
  });
});
