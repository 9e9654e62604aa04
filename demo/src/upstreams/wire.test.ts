import { describe, expect, it } from 'vitest';
import { buildMessage, buildMessageEvents, parseMessagesRequest } from './anthropic.ts';
import { maskCredential } from './http.ts';
import { buildChatCompletion, buildChatCompletionChunks, parseChatRequest } from './openai.ts';

const chatRequest = (extra: Record<string, unknown> = {}) => {
  const parsed = parseChatRequest({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'reset my password' }], ...extra });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.request;
};

describe('OpenAI chat completion shapes', () => {
  it('rejects bodies without a model or messages, naming the param', () => {
    expect(parseChatRequest({ messages: [] })).toMatchObject({ ok: false, param: 'model' });
    expect(parseChatRequest({ model: 'gpt-4o', messages: [] })).toMatchObject({ ok: false, param: 'messages' });
  });

  it('reads content given as text parts', () => {
    const parsed = parseChatRequest({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'rotate credentials' }] }] });
    expect(parsed.ok && buildChatCompletion(parsed.request, 'chatcmpl-x', 1).choices[0]?.message.content).toContain('rotate');
  });

  it('streams only usage: null chunks until a final choice-less usage chunk when include_usage is set', () => {
    const chunks = buildChatCompletionChunks(chatRequest({ stream: true, stream_options: { include_usage: true } }), 'chatcmpl-x', 1);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.total_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('omits usage from chunks when include_usage is not set', () => {
    const chunks = buildChatCompletionChunks(chatRequest({ stream: true }), 'chatcmpl-x', 1);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });
});

describe('Anthropic message shapes', () => {
  const parsed = parseMessagesRequest({
    model: 'claude-sonnet-4-6',
    max_tokens: 512,
    system: [{ type: 'text', text: 'You answer from the handbook.' }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'what is the travel policy' }] }],
  });

  it('requires max_tokens', () => {
    expect(parseMessagesRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }] })).toMatchObject({ ok: false });
  });

  it('streams deltas that add up to the non-streaming text, and usage that matches it', () => {
    if (!parsed.ok) throw new Error(parsed.message);
    const message = buildMessage(parsed.request, 'msg_1');
    const events = buildMessageEvents(parsed.request, 'msg_1');
    const text = events.map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : '')).join('');
    expect(message.content[0]?.type === 'text' && message.content[0].text).toBe(text);
    const delta = events.find((e) => e.type === 'message_delta');
    expect(delta?.type === 'message_delta' && delta.usage.output_tokens).toBe(message.usage.output_tokens);
    expect(events.map((e) => e.type)).toContain('ping');
  });
});

describe('maskCredential', () => {
  it('keeps the scheme and last four characters only', () => {
    expect(maskCredential('Bearer sk-proj-abcdefghijklmnop1234')).toBe('Bearer ****1234');
    expect(maskCredential('sk-ant-api03-abcdefghijk9876')).toBe('****9876');
    expect(maskCredential('short')).toBe('****');
  });
});
