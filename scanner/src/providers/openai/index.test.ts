import { describe, expect, it } from 'vitest';
import { openaiParser } from './index.ts';

// Wire shapes as the API sends them (https://platform.openai.com/docs/api-reference/chat).
const request = {
  model: 'gpt-4o-mini',
  user: 'user-123',
  messages: [
    { role: 'system', content: 'You are a support bot.' },
    { role: 'user', content: [{ type: 'text', text: 'What is the weather in Paris?' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
    {
      role: 'assistant', content: null,
      tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    },
    { role: 'tool', tool_call_id: 'call_abc', content: '{"temp":21}' },
  ],
  tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }],
  stream: true,
  stream_options: { include_usage: true },
};

const response = {
  id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT', object: 'chat.completion', created: 1741569952, model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'It is 21°C in Paris.', refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 } },
  service_tier: 'default',
};

const stream = [
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}],"usage":null}\n\n',
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null}\n\n',
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"lo é"},"finish_reason":null}],"usage":null}\n\n',
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}\n\n',
  'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":3,"total_tokens":11,"prompt_tokens_details":{"cached_tokens":4}}}\n\n',
  'data: [DONE]\n\n',
].join('');

const toolStream = [
  'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}\n\n',
  'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"ci"}}]},"finish_reason":null}]}\n\n',
  'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\\":\\"Paris\\"}"}}]},"finish_reason":null}]}\n\n',
  'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n',
  'data: [DONE]\n\n',
].join('');

function feed(text: string, pieceSize: number) {
  const p = openaiParser.streamParser();
  for (let i = 0; i < text.length; i += pieceSize) p.push(text.slice(i, i + pieceSize));
  return p.end();
}

describe('openai parser', () => {
  it('recognises the chat completions endpoint only', () => {
    expect(openaiParser.endpointFor('POST', '/v1/chat/completions')).toBe('chat');
    expect(openaiParser.endpointFor('POST', '/openai/deployments/x/chat/completions?api-version=2024-10-21')).toBe('chat');
    expect(openaiParser.endpointFor('GET', '/v1/models')).toBeNull();
  });

  it('parses messages with content parts, tool calls, tool results, tools and the user field', () => {
    const p = openaiParser.parseRequest('chat', request);
    expect(p).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', stream: true, system: 'You are a support bot.', tools: ['get_weather'], providerUser: 'user-123' });
    expect(p.messages).toEqual([
      { role: 'user', content: 'What is the weather in Paris?' },
      { role: 'assistant', content: '{"city":"Paris"}', toolName: 'get_weather' },
      { role: 'tool', content: '{"temp":21}', toolName: 'get_weather' },
    ]);
  });

  it('refuses bodies that are not chat completions', () => {
    expect(() => openaiParser.parseRequest('chat', { prompt: 'hi' })).toThrow();
    expect(() => openaiParser.parseRequest('chat', { messages: [{ role: 'user', content: 42 }] })).toThrow();
  });

  it('parses a JSON response with usage', () => {
    expect(openaiParser.parseResponse(response)).toEqual({
      content: 'It is 21°C in Paris.', finishReason: 'stop', toolCalls: [], usage: { inputTokens: 19, outputTokens: 10, cachedTokens: 0 }, error: null,
    });
  });

  it('parses an error response', () => {
    expect(openaiParser.parseResponse({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }).error)
      .toBe('Incorrect API key provided');
  });

  it.each([1, 7, 64, 10_000])('parses a streamed response split into %i-character pieces', (size) => {
    expect(feed(stream, size)).toEqual({ content: 'Hello é', finishReason: 'stop', toolCalls: [], usage: { inputTokens: 8, outputTokens: 3, cachedTokens: 4 }, error: null });
  });

  it('assembles streamed tool-call deltas', () => {
    const r = feed(toolStream, 5);
    expect(r.finishReason).toBe('tool_calls');
    expect(r.toolCalls).toEqual([{ id: 'call_1', name: 'get_weather', input: '{"city":"Paris"}' }]);
  });

  it('redacts prompt strings and tool arguments, leaving the rest of the body', () => {
    const out = openaiParser.redactRequest(request, (t) => t.replace('Paris', '[X]')) as typeof request;
    expect(out.model).toBe('gpt-4o-mini');
    expect(JSON.stringify(out.messages)).not.toContain('Paris');
    expect(out.tools).toBe(request.tools);
  });
});
