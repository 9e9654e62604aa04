import { describe, expect, it } from 'vitest';
import { isOpenAiCompatibleRequest, parserFor } from '../index.ts';
import { mistralParser } from './index.ts';

// Wire shapes from https://docs.mistral.ai/api/#tag/chat and the SDK's zod schemas (models/components).
describe('mistral parser', () => {
  it('is chosen for api.mistral.ai, while the same path on another host is OpenAI-compatible', () => {
    expect(parserFor('POST', '/v1/chat/completions', 'api.mistral.ai')?.parser.provider).toBe('mistral');
    expect(parserFor('POST', '/v1/chat/completions', 'api.eu.mistral.ai')?.parser.provider).toBe('mistral');
    expect(parserFor('POST', '/v1/chat/completions', 'vllm.internal')?.parser.provider).toBe('openai');
    expect(isOpenAiCompatibleRequest('POST', '/v1/chat/completions')).toBe(true);
    expect(isOpenAiCompatibleRequest('POST', '/v1/messages')).toBe(false);
    expect(isOpenAiCompatibleRequest('POST', '/llm/v1/embeddings?x=1')).toBe(true);
    expect(isOpenAiCompatibleRequest('POST', '/search/embeddings')).toBe(false);
    expect(isOpenAiCompatibleRequest('GET', '/v1/chat/completions')).toBe(false);
  });

  it('parses chunk-list content and object tool arguments', () => {
    const p = mistralParser.parseRequest('chat', {
      model: 'mistral-small-latest', safe_prompt: false,
      messages: [
        { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'abc123def', type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }], prefix: false },
        { role: 'tool', name: 'get_weather', tool_call_id: 'abc123def', content: '21' },
      ],
    });
    expect(p).toMatchObject({ provider: 'mistral', model: 'mistral-small-latest', system: 'Be brief.' });
    expect(p.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '{"city":"Paris"}', toolName: 'get_weather' },
      { role: 'tool', content: '21', toolName: 'get_weather' },
    ]);
  });

  it('reads a stream whose deltas are chunk lists, with usage in the last chunk', () => {
    const s = mistralParser.streamParser();
    s.push('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"mistral-small-latest","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n');
    s.push('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"mistral-small-latest","choices":[{"index":0,"delta":{"content":[{"type":"text","text":"Bon"}]},"finish_reason":null}]}\n\n');
    s.push('data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"mistral-small-latest","choices":[{"index":0,"delta":{"content":"jour"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}\n\ndata: [DONE]\n\n');
    expect(s.end()).toEqual({ content: 'Bonjour', finishReason: 'stop', toolCalls: [], usage: { inputTokens: 5, outputTokens: 2 }, error: null });
  });

  it('redacts object tool arguments, keeping them objects', () => {
    const out = mistralParser.redactRequest({ messages: [{ role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: { ssn: '123-45-6789' } } }] }] }, (t) => t.replace('123-45-6789', '[SSN]'));
    expect(out).toEqual({ messages: [{ role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: { ssn: '[SSN]' } } }] }] });
  });

  it('answers a block in Mistral\'s top-level error shape', () => {
    expect(mistralParser.blockedResponse({ message: 'no', ruleId: null, decisionId: 'dec_1' })).toMatchObject({ object: 'error', message: 'no', type: 'higgs_policy_violation' });
  });
});
