import { describe, expect, it } from 'vitest';
import { anthropicParser } from './index.ts';

// Wire shapes as the API sends them (https://docs.anthropic.com/en/api/messages, …/messages-streaming).
const request = {
  model: 'claude-sonnet-4-5',
  max_tokens: 1024,
  system: [{ type: 'text', text: 'You are a billing assistant.', cache_control: { type: 'ephemeral' } }],
  metadata: { user_id: 'u-42' },
  tools: [{ name: 'lookup_invoice', description: 'Find an invoice', input_schema: { type: 'object', properties: { id: { type: 'string' } } } }],
  messages: [
    { role: 'user', content: 'Where is invoice 7?' },
    { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_01', name: 'lookup_invoice', input: { id: '7' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: [{ type: 'text', text: 'paid' }] }, { type: 'text', text: 'Thanks' }] },
  ],
  stream: true,
};

const response = {
  id: 'msg_01XFDUDYJgAACzvnptvVoYEL', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5',
  content: [{ type: 'text', text: 'Invoice 7 is paid.' }],
  stop_reason: 'end_turn', stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 6, cache_read_input_tokens: 3, cache_creation_input_tokens: 0 },
};

const stream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"get_weather","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"location\\": \\"San Fra"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ncisco, CA\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

`.replace(/\n/g, '\r\n');

function feed(text: string, pieceSize: number) {
  const p = anthropicParser.streamParser();
  for (let i = 0; i < text.length; i += pieceSize) p.push(text.slice(i, i + pieceSize));
  return p.end();
}

describe('anthropic parser', () => {
  it('recognises the messages endpoint only', () => {
    expect(anthropicParser.endpointFor('POST', '/v1/messages')).toBe('messages');
    expect(anthropicParser.endpointFor('POST', '/v1/messages/count_tokens')).toBeNull();
  });

  it('parses system blocks, text, tool_use and tool_result blocks, tools and metadata.user_id', () => {
    const p = anthropicParser.parseRequest('messages', request);
    expect(p).toMatchObject({ provider: 'anthropic', model: 'claude-sonnet-4-5', stream: true, system: 'You are a billing assistant.', tools: ['lookup_invoice'], providerUser: 'u-42' });
    expect(p.messages).toEqual([
      { role: 'user', content: 'Where is invoice 7?' },
      { role: 'assistant', content: 'Let me check.' },
      { role: 'assistant', content: '{"id":"7"}', toolName: 'lookup_invoice' },
      { role: 'tool', content: 'paid', toolName: 'lookup_invoice' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('accepts a string system prompt and refuses foreign bodies', () => {
    expect(anthropicParser.parseRequest('messages', { model: 'm', system: 'be brief', messages: [{ role: 'user', content: 'hi' }] }).system).toBe('be brief');
    expect(() => anthropicParser.parseRequest('messages', { prompt: '\n\nHuman: hi' })).toThrow();
  });

  it('parses a JSON response and an error response', () => {
    expect(anthropicParser.parseResponse(response)).toEqual({
      content: 'Invoice 7 is paid.', finishReason: 'end_turn', toolCalls: [], usage: { inputTokens: 12, outputTokens: 6, cachedTokens: 3 }, error: null,
    });
    expect(anthropicParser.parseResponse({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }).error).toBe('Overloaded');
  });

  it.each([1, 3, 50, 100_000])('parses the event stream split into %i-character pieces', (size) => {
    expect(feed(stream, size)).toEqual({
      content: 'Hello!', finishReason: 'tool_use',
      toolCalls: [{ id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', input: '{"location": "San Francisco, CA"}' }],
      usage: { inputTokens: 25, outputTokens: 89 }, error: null,
    });
  });

  it('records a mid-stream error event', () => {
    const r = feed('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n', 10);
    expect(r.error).toBe('Overloaded');
  });

  it('shapes a block as an Anthropic permission_error', () => {
    expect(anthropicParser.blockedResponse({ message: 'Request blocked by Higgs policy: r', ruleId: 'r1', decisionId: 'd1' })).toEqual({
      type: 'error', error: { type: 'permission_error', message: 'Request blocked by Higgs policy: r' }, higgs: { rule_id: 'r1', decision_id: 'd1' },
    });
  });
});
