import { describe, expect, it } from 'vitest';
import { encodeEventStreamMessage } from './event-stream.ts';
import { bedrockParser } from './index.ts';

// Wire shapes from the Bedrock runtime API reference and the model parameter pages
// (https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters.html).
const claude = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const invokePath = `/model/${encodeURIComponent(claude)}/invoke`;

const chunk = (event: unknown): Buffer => encodeEventStreamMessage(
  { ':event-type': 'chunk', ':content-type': 'application/json', ':message-type': 'event' },
  Buffer.from(JSON.stringify({ bytes: Buffer.from(JSON.stringify(event)).toString('base64'), p: 'abcdefghij' })),
);
const event = (type: string, payload: unknown): Buffer => encodeEventStreamMessage(
  { ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' },
  Buffer.from(JSON.stringify(payload)),
);

function streamOf(frames: Buffer[], splitEvery = 7) {
  const bytes = Buffer.concat(frames);
  const s = bedrockParser.streamParser();
  for (let i = 0; i < bytes.length; i += splitEvery) s.pushBytes!(bytes.subarray(i, i + splitEvery));
  return s.end();
}

describe('bedrock parser', () => {
  it('routes the four runtime actions and decodes the model id from the path', () => {
    expect(bedrockParser.endpointFor('POST', invokePath)).toBe('invoke');
    expect(bedrockParser.endpointFor('POST', `/model/${encodeURIComponent(claude)}/invoke-with-response-stream`)).toBe('invoke');
    expect(bedrockParser.endpointFor('POST', '/model/amazon.nova-lite-v1%3A0/converse')).toBe('converse');
    expect(bedrockParser.endpointFor('POST', '/model/amazon.nova-lite-v1%3A0/converse-stream')).toBe('converse');
    expect(bedrockParser.endpointFor('GET', invokePath)).toBeNull();
    expect(bedrockParser.endpointFor('POST', '/v1/chat/completions')).toBeNull();
  });

  it('parses Anthropic-on-Bedrock InvokeModel: model and stream from the path, messages, system, tools', () => {
    const body = {
      anthropic_version: 'bedrock-2023-05-31', max_tokens: 256, system: 'You are terse.',
      tools: [{ name: 'lookup_customer', description: 'd', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Who is customer 7?' }] }],
    };
    const p = bedrockParser.parseRequest('invoke', body, `/model/${encodeURIComponent(claude)}/invoke-with-response-stream`);
    expect(p).toMatchObject({ provider: 'bedrock', endpoint: 'invoke', model: claude, stream: true, system: 'You are terse.', tools: ['lookup_customer'] });
    expect(p.messages).toEqual([{ role: 'user', content: 'Who is customer 7?' }]);
    const r = bedrockParser.parseResponse({
      id: 'msg_bdrk_01', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022',
      content: [{ type: 'text', text: 'Ada Lovelace.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 14, output_tokens: 5 },
    });
    expect(r).toMatchObject({ content: 'Ada Lovelace.', finishReason: 'end_turn', usage: { inputTokens: 14, outputTokens: 5 } });
  });

  it('parses Titan Text and Llama bodies and responses', () => {
    expect(bedrockParser.parseRequest('invoke', { inputText: 'Summarise this', textGenerationConfig: { maxTokenCount: 64 } }, '/model/amazon.titan-text-express-v1/invoke'))
      .toMatchObject({ model: 'amazon.titan-text-express-v1', stream: false, messages: [{ role: 'user', content: 'Summarise this' }] });
    expect(bedrockParser.parseResponse({ inputTextTokenCount: 3, results: [{ tokenCount: 4, outputText: 'A summary.', completionReason: 'FINISH' }] }))
      .toMatchObject({ content: 'A summary.', finishReason: 'FINISH', usage: { inputTokens: 3, outputTokens: 4 } });
    expect(bedrockParser.parseRequest('invoke', { prompt: '<|begin_of_text|>Hi', max_gen_len: 64 }, '/model/meta.llama3-8b-instruct-v1%3A0/invoke').messages)
      .toEqual([{ role: 'user', content: '<|begin_of_text|>Hi' }]);
    expect(bedrockParser.parseResponse({ generation: 'Hello!', prompt_token_count: 9, generation_token_count: 3, stop_reason: 'stop' }))
      .toMatchObject({ content: 'Hello!', finishReason: 'stop', usage: { inputTokens: 9, outputTokens: 3 } });
  });

  it('parses Converse with tool use and tool results, and its response', () => {
    const body = {
      system: [{ text: 'You help support agents.' }],
      toolConfig: { tools: [{ toolSpec: { name: 'run_sql', description: 'd', inputSchema: { json: { type: 'object' } } } }] },
      messages: [
        { role: 'user', content: [{ text: 'How many orders?' }] },
        { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_1', name: 'run_sql', input: { q: 'select count(*) from orders' } } }] },
        { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_1', content: [{ json: { count: 42 } }], status: 'success' } }] },
      ],
      inferenceConfig: { maxTokens: 100 },
    };
    const p = bedrockParser.parseRequest('converse', body, '/model/amazon.nova-lite-v1%3A0/converse');
    expect(p).toMatchObject({ model: 'amazon.nova-lite-v1:0', stream: false, system: 'You help support agents.', tools: ['run_sql'] });
    expect(p.messages).toEqual([
      { role: 'user', content: 'How many orders?' },
      { role: 'assistant', content: '{"q":"select count(*) from orders"}', toolName: 'run_sql' },
      { role: 'tool', content: '{"count":42}', toolName: 'run_sql' },
    ]);
    const r = bedrockParser.parseResponse({
      output: { message: { role: 'assistant', content: [{ text: 'There are 42 orders.' }] } },
      stopReason: 'end_turn', usage: { inputTokens: 30, outputTokens: 7, totalTokens: 37 }, metrics: { latencyMs: 212 },
    });
    expect(r).toEqual({ content: 'There are 42 orders.', toolCalls: [], finishReason: 'end_turn', usage: { inputTokens: 30, outputTokens: 7 }, error: null });
  });

  it('parses an InvokeModelWithResponseStream of Anthropic chunks split across reads, usage from the invocation metrics', () => {
    const r = streamOf([
      chunk({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', content: [], usage: { input_tokens: 12, output_tokens: 1 } } }),
      chunk({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } }),
      chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' there' } }),
      chunk({ type: 'content_block_stop', index: 0 }),
      chunk({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 6 } }),
      chunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 12, outputTokenCount: 6, invocationLatency: 310, firstByteLatency: 120 } }),
    ]);
    expect(r).toMatchObject({ content: 'Hello there', finishReason: 'end_turn', usage: { inputTokens: 12, outputTokens: 6 }, error: null });
  });

  it('parses Titan chunks', () => {
    const r = streamOf([
      chunk({ outputText: 'One ', index: 0, totalOutputTextTokenCount: 1, completionReason: null, inputTextTokenCount: 4 }),
      chunk({ outputText: 'two.', index: 0, totalOutputTextTokenCount: 2, completionReason: 'FINISH', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 4, outputTokenCount: 2 } }),
    ], 3);
    expect(r).toMatchObject({ content: 'One two.', finishReason: 'FINISH', usage: { inputTokens: 4, outputTokens: 2 } });
  });

  it('parses Nova (Converse-shaped chunks) and Llama chunks of InvokeModelWithResponseStream', () => {
    expect(streamOf([
      chunk({ messageStart: { role: 'assistant' } }),
      chunk({ contentBlockDelta: { delta: { text: 'Bonjour' }, contentBlockIndex: 0 } }),
      chunk({ contentBlockDelta: { delta: { text: ' !' }, contentBlockIndex: 0 } }),
      chunk({ messageStop: { stopReason: 'end_turn' } }),
      chunk({ metadata: { usage: { inputTokens: 5, outputTokens: 3 } }, 'amazon-bedrock-invocationMetrics': { inputTokenCount: 5, outputTokenCount: 3 } }),
    ], 5)).toMatchObject({ content: 'Bonjour !', finishReason: 'end_turn', usage: { inputTokens: 5, outputTokens: 3 } });
    expect(streamOf([
      chunk({ generation: 'Hi', prompt_token_count: 7, generation_token_count: 1, stop_reason: null }),
      chunk({ generation: ' there.', prompt_token_count: null, generation_token_count: 3, stop_reason: 'stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 7, outputTokenCount: 3 } }),
    ], 11)).toMatchObject({ content: 'Hi there.', finishReason: 'stop', usage: { inputTokens: 7, outputTokens: 3 } });
  });

  it('parses a ConverseStream with text and a streamed tool call', () => {
    const r = streamOf([
      event('messageStart', { role: 'assistant', p: 'abc' }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Let me ' } }),
      event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'check.' } }),
      event('contentBlockStop', { contentBlockIndex: 0 }),
      event('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tooluse_9', name: 'lookup_customer' } } }),
      event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"id":' } } }),
      event('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '"7"}' } } }),
      event('messageStop', { stopReason: 'tool_use' }),
      event('metadata', { usage: { inputTokens: 20, outputTokens: 11, totalTokens: 31 }, metrics: { latencyMs: 400 } }),
    ], 1);
    expect(r).toEqual({
      content: 'Let me check.', finishReason: 'tool_use', usage: { inputTokens: 20, outputTokens: 11 }, error: null,
      toolCalls: [{ id: 'tooluse_9', name: 'lookup_customer', input: '{"id":"7"}' }],
    });
  });

  it('records a modelled stream exception and a corrupt frame as the error, never throwing', () => {
    const exception = encodeEventStreamMessage(
      { ':exception-type': 'throttlingException', ':content-type': 'application/json', ':message-type': 'exception' },
      Buffer.from('{"message":"Too many requests, please wait before trying again."}'),
    );
    expect(streamOf([event('messageStart', { role: 'assistant' }), exception]).error).toBe('throttlingException: Too many requests, please wait before trying again.');
    const bad = event('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'x' } });
    bad[bad.length - 1]! ^= 1;
    expect(streamOf([bad]).error).toMatch(/^event-stream: message CRC mismatch/);
  });

  it('redacts every family\'s prompt fields and shapes a block as AccessDeniedException', () => {
    const up = (t: string) => t.toUpperCase();
    expect(bedrockParser.redactRequest({ inputText: 'secret', textGenerationConfig: {} }, up)).toEqual({ inputText: 'SECRET', textGenerationConfig: {} });
    expect(bedrockParser.redactRequest({ prompt: 'secret' }, up)).toEqual({ prompt: 'SECRET' });
    expect(bedrockParser.redactRequest({ anthropic_version: 'bedrock-2023-05-31', messages: [{ role: 'user', content: 'secret' }] }, up))
      .toMatchObject({ messages: [{ role: 'user', content: 'SECRET' }] });
    expect(bedrockParser.redactRequest({ system: [{ text: 'sys' }], messages: [{ role: 'user', content: [{ text: 'secret' }] }] }, up))
      .toEqual({ system: [{ text: 'SYS' }], messages: [{ role: 'user', content: [{ text: 'SECRET' }] }] });
    expect(bedrockParser.blockedResponse({ message: 'Blocked', ruleId: 'r1', decisionId: 'd1' })).toMatchObject({ __type: 'AccessDeniedException', message: 'Blocked' });
  });
});
