import { describe, expect, it } from 'vitest';
import { openaiResponsesParser as parser } from './responses.ts';

// Wire shapes from https://platform.openai.com/docs/api-reference/responses (create, object, streaming events).
const request = {
  model: 'gpt-4.1-mini',
  instructions: 'You are a support bot.',
  input: [
    { role: 'developer', content: 'Answer briefly.' },
    { role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }, { type: 'input_image', image_url: 'https://x/y.png' }] },
    { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
    { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21}' },
    { type: 'reasoning', id: 'rs_1', summary: [] },
  ],
  tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: true }, { type: 'web_search' }],
  stream: true,
  safety_identifier: 'user-123',
};

const response = {
  id: 'resp_1', object: 'response', created_at: 1741476542, status: 'completed', error: null, incomplete_details: null, model: 'gpt-4.1-mini-2025-04-14',
  output: [
    { type: 'reasoning', id: 'rs_1', summary: [] },
    { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'It is 21°C.', annotations: [] }] },
    { type: 'function_call', id: 'fc_2', call_id: 'call_2', name: 'get_time', arguments: '{"tz":"CET"}', status: 'completed' },
  ],
  usage: { input_tokens: 36, input_tokens_details: { cached_tokens: 4 }, output_tokens: 87, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 123 },
};

const ev = (type: string, body: Record<string, unknown>, seq: number) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...body })}\n\n`;
const created = { ...response, status: 'in_progress', output: [], usage: null };
const stream = [
  ev('response.created', { response: created }, 0),
  ev('response.output_item.added', { output_index: 0, item: { type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [] } }, 1),
  ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'It is ' }, 2),
  ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: '21°C.' }, 3),
  ev('response.output_item.added', { output_index: 1, item: { type: 'function_call', id: 'fc_2', call_id: 'call_2', name: 'get_time', arguments: '' } }, 4),
  ev('response.function_call_arguments.delta', { item_id: 'fc_2', output_index: 1, delta: '{"tz":' }, 5),
  ev('response.function_call_arguments.delta', { item_id: 'fc_2', output_index: 1, delta: '"CET"}' }, 6),
].join('');
const completed = ev('response.completed', { response }, 7);

function feed(text: string, size: number) {
  const p = parser.streamParser();
  for (let i = 0; i < text.length; i += size) p.push(text.slice(i, i + size));
  return p.end();
}

describe('openai responses parser', () => {
  it('recognises /v1/responses and the Azure v1 path', () => {
    expect(parser.endpointFor('POST', '/v1/responses')).toBe('responses');
    expect(parser.endpointFor('POST', '/openai/v1/responses?api-version=preview')).toBe('responses');
    expect(parser.endpointFor('GET', '/v1/responses/resp_1')).toBeNull();
    expect(parser.endpointFor('POST', '/v1/chat/completions')).toBeNull();
  });

  it('parses input items: instructions and developer text as system, function calls and outputs by call id, tools', () => {
    const p = parser.parseRequest('responses', request);
    expect(p).toMatchObject({ provider: 'openai', model: 'gpt-4.1-mini', stream: true, system: 'You are a support bot.\nAnswer briefly.', tools: ['get_weather', 'web_search'], providerUser: 'user-123' });
    expect(p.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '{"city":"Paris"}', toolName: 'get_weather' },
      { role: 'tool', content: '{"temp":21}', toolName: 'get_weather' },
    ]);
  });

  it('takes a string input as one user message, and refuses a body without input', () => {
    expect(parser.parseRequest('responses', { model: 'm', input: 'hi' }).messages).toEqual([{ role: 'user', content: 'hi' }]);
    expect(() => parser.parseRequest('responses', { model: 'm', messages: [] })).toThrow();
  });

  it('parses the response object: output text, function calls, status, usage', () => {
    expect(parser.parseResponse(response)).toEqual({
      content: 'It is 21°C.', finishReason: 'completed', toolCalls: [{ id: 'call_2', name: 'get_time', input: '{"tz":"CET"}' }],
      usage: { inputTokens: 36, outputTokens: 87, cachedTokens: 4 }, error: null,
    });
    expect(parser.parseResponse({ ...response, status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } }).finishReason).toBe('max_output_tokens');
    expect(parser.parseResponse({ error: { message: 'Invalid model', type: 'invalid_request_error', code: null } }).error).toBe('Invalid model');
  });

  it.each([1, 9, 100_000])('parses the event stream split into %i-character pieces', (size) => {
    expect(feed(stream + completed, size)).toEqual(parser.parseResponse(response));
  });

  it('keeps the deltas of a stream cut before response.completed', () => {
    expect(feed(stream, 13)).toEqual({
      content: 'It is 21°C.', finishReason: null, toolCalls: [{ id: 'call_2', name: 'get_time', input: '{"tz":"CET"}' }], usage: null, error: null,
    });
  });

  it('redacts instructions, input text parts, function arguments and outputs', () => {
    const out = parser.redactRequest(request, (t) => t.replaceAll('Paris', '[X]').replace('support', '[Y]')) as typeof request;
    expect(JSON.stringify(out)).not.toContain('Paris');
    expect(out.instructions).toBe('You are a [Y] bot.');
    expect(out.tools).toBe(request.tools);
    expect(parser.redactRequest({ input: 'Paris' }, () => '[X]')).toEqual({ input: '[X]' });
  });
});
