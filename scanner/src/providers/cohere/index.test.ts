import { describe, expect, it } from 'vitest';
import { parserFor } from '../index.ts';
import { cohereParser as parser } from './index.ts';

// Wire shapes from https://docs.cohere.com/reference/chat and /reference/chat-stream (v2).
const request = {
  model: 'command-a-03-2025',
  messages: [
    { role: 'system', content: 'You are a support bot.' },
    { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
    { role: 'assistant', tool_plan: 'I will look it up.', tool_calls: [{ id: 'get_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'get_weather_1', content: [{ type: 'document', document: { data: '{"temp":21}' } }] },
  ],
  tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
  stream: true,
};

const response = {
  id: 'c14c80c3-18eb-4519-9460-6c92edd8cfb4', finish_reason: 'COMPLETE',
  message: { role: 'assistant', content: [{ type: 'text', text: 'It is 21°C.' }] },
  usage: { billed_units: { input_tokens: 5, output_tokens: 418 }, tokens: { input_tokens: 71, output_tokens: 418 } },
};

const ev = (type: string, body: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;
const stream = [
  ev('message-start', { id: 'm1', delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } }),
  ev('content-start', { index: 0, delta: { message: { content: { type: 'text', text: '' } } } }),
  ev('content-delta', { index: 0, delta: { message: { content: { text: 'It is ' } } } }),
  ev('content-delta', { index: 0, delta: { message: { content: { text: '21°C.' } } } }),
  ev('content-end', { index: 0 }),
  ev('tool-call-start', { index: 0, delta: { message: { tool_calls: { id: 't1', type: 'function', function: { name: 'get_time', arguments: '' } } } } }),
  ev('tool-call-delta', { index: 0, delta: { message: { tool_calls: { function: { arguments: '{"tz":' } } } } }),
  ev('tool-call-delta', { index: 0, delta: { message: { tool_calls: { function: { arguments: '"CET"}' } } } } }),
  ev('tool-call-end', { index: 0 }),
  ev('message-end', { delta: { finish_reason: 'TOOL_CALL', usage: { billed_units: { input_tokens: 3, output_tokens: 9 }, tokens: { input_tokens: 70, output_tokens: 9 } } } }),
].join('');

describe('cohere v2 chat parser', () => {
  it('is chosen for POST /v2/chat on api.cohere.com', () => {
    expect(parserFor('POST', '/v2/chat', 'api.cohere.com')).toMatchObject({ endpoint: 'chat', parser: { provider: 'cohere' } });
    expect(parser.endpointFor('POST', '/v1/chat')).toBeNull();
  });

  it('parses system, text parts, tool plans and calls, document tool results and tools', () => {
    const p = parser.parseRequest('chat', request);
    expect(p).toMatchObject({ provider: 'cohere', model: 'command-a-03-2025', stream: true, system: 'You are a support bot.', tools: ['get_weather'] });
    expect(p.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: 'I will look it up.' },
      { role: 'assistant', content: '{"city":"Paris"}', toolName: 'get_weather' },
      { role: 'tool', content: '{"temp":21}', toolName: 'get_weather' },
    ]);
  });

  it('parses a response: text, finish reason, usage from tokens', () => {
    expect(parser.parseResponse(response)).toEqual({ content: 'It is 21°C.', finishReason: 'COMPLETE', toolCalls: [], usage: { inputTokens: 71, outputTokens: 418 }, error: null });
    expect(parser.parseResponse({ id: 'x', message: 'invalid api token' }).error).toBe('invalid api token');
  });

  it.each([1, 11, 100_000])('parses the typed event stream split into %i-character pieces', (size) => {
    const s = parser.streamParser();
    for (let i = 0; i < stream.length; i += size) s.push(stream.slice(i, i + size));
    expect(s.end()).toEqual({
      content: 'It is 21°C.', finishReason: 'TOOL_CALL', toolCalls: [{ id: 't1', name: 'get_time', input: '{"tz":"CET"}' }], usage: { inputTokens: 70, outputTokens: 9 }, error: null,
    });
  });

  it('redacts strings, text parts, documents, plans and arguments', () => {
    const out = parser.redactRequest(request, (t) => t.replaceAll('Paris', '[X]').replaceAll('21', '[N]'));
    expect(JSON.stringify(out)).not.toMatch(/Paris|"temp\\":21/);
    expect((out as typeof request).tools).toBe(request.tools);
    const doc = { messages: [{ role: 'tool', tool_call_id: 't', content: [{ type: 'document', document: { data: { ssn: '123-45-6789' } } }] }] };
    expect(parser.redactRequest(doc, (t) => t.replace('123-45-6789', '[SSN]'))).toEqual({
      messages: [{ role: 'tool', tool_call_id: 't', content: [{ type: 'document', document: { data: { ssn: '[SSN]' } } }] }],
    });
  });

  it('answers a block as Cohere does: { id, message }', () => {
    expect(parser.blockedResponse({ message: 'no', ruleId: 'r', decisionId: 'dec_1' })).toMatchObject({ id: 'dec_1', message: 'no' });
  });
});
