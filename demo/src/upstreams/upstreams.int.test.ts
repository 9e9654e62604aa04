import Anthropic from '@anthropic-ai/sdk';
import { request as httpsRequest } from 'node:https';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockUpstreams, type MockUpstreams } from './index.ts';

// The official SDKs, pointed straight at the mock with only the demo CA trusted:
// if a field is missing or mis-framed, the SDK's own parsing fails here.
let upstreams: MockUpstreams;
let dispatcher: Agent;

beforeAll(async () => {
  upstreams = await startMockUpstreams();
  dispatcher = new Agent({ connect: { ca: upstreams.caCertPem } });
});

afterAll(async () => {
  await dispatcher?.close();
  await upstreams?.close();
});

// The SDK types `dispatcher` as Node's bundled undici-types; ours comes from the undici package, same protocol.
const fetchOptions = () => ({ dispatcher }) as unknown as NonNullable<ConstructorParameters<typeof OpenAI>[0]>['fetchOptions'];
const fetch = undiciFetch as unknown as typeof globalThis.fetch;

function openai(apiKey = 'sk-test-openai-0000000000001234') {
  return new OpenAI({ apiKey, baseURL: `${upstreams.url}/v1`, fetch, fetchOptions: fetchOptions(), maxRetries: 0 });
}
function anthropic(apiKey = 'sk-ant-test-000000000000abcd') {
  return new Anthropic({ apiKey, baseURL: upstreams.url, fetch, fetchOptions: fetchOptions(), maxRetries: 0 });
}

describe('mock OpenAI upstream', () => {
  it('answers a non-streaming chat completion the SDK parses, with usage and request id', async () => {
    const before = upstreams.count('openai');
    const { data, response, request_id } = await openai()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'How do I rotate my password?' }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.model).toBe('gpt-4o-mini');
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.choices[0]?.message.content).toMatch(/rotate/);
    expect(data.usage?.total_tokens).toBe((data.usage?.prompt_tokens ?? 0) + (data.usage?.completion_tokens ?? 0));
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(request_id).toMatch(/^req_/);
    expect(Number(response.headers.get('openai-processing-ms'))).toBeGreaterThanOrEqual(0);
    expect(upstreams.count('openai')).toBe(before + 1);
  });

  it('streams chunks whose deltas rebuild the non-streaming text, then a usage chunk', async () => {
    const client = openai();
    const messages = [{ role: 'user' as const, content: 'Summarise the incident retro for the billing outage' }];
    const whole = await client.chat.completions.create({ model: 'gpt-4o', messages });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let contentChunks = 0;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      const choice = chunk.choices[0];
      if (choice?.delta.content) {
        text += choice.delta.content;
        contentChunks++;
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(contentChunks).toBeGreaterThan(2);
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBe(whole.usage?.completion_tokens);
  });

  it('has the SDK stream helper assemble the final completion', async () => {
    const runner = openai().chat.completions.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'explain vector databases' }] });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toMatch(/vector/);
    expect(final.choices[0]?.finish_reason).toBe('stop');
  });

  it('reports finish_reason length when max_completion_tokens cuts the reply', async () => {
    const data = await openai().chat.completions.create({
      model: 'gpt-4o-mini',
      max_completion_tokens: 5,
      messages: [{ role: 'user', content: 'describe kubernetes networking' }],
    });
    expect(data.choices[0]?.finish_reason).toBe('length');
    expect(data.usage?.completion_tokens).toBeLessThanOrEqual(5);
  });

  it('rejects a call without a bearer key with the SDK AuthenticationError', async () => {
    const res = await undiciFetch(`${upstreams.url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    // the SDK maps the same response to its typed error
    const err = await openai()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }, { headers: { authorization: null } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('answers invalid JSON with an OpenAI-shaped 400', async () => {
    const res = await undiciFetch(`${upstreams.url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher,
      headers: { authorization: 'Bearer sk-test', 'content-type': 'application/json' },
      body: '{"model": "gpt-4o-mini", "messages": [',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { type: string; param: unknown; code: unknown } };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
  });

  it('records received requests with credentials masked', async () => {
    upstreams.reset();
    await openai('sk-test-secret-value-9876').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
    const [seen] = upstreams.received;
    expect(seen).toMatchObject({ provider: 'openai', path: '/v1/chat/completions', body: { model: 'gpt-4o-mini' } });
    expect(seen?.headers.authorization).toBe('Bearer ****9876');
    expect(JSON.stringify(upstreams.received)).not.toContain('sk-test-secret-value');
  });
});

describe('mock Anthropic upstream', () => {
  it('answers a non-streaming message the SDK parses', async () => {
    const { data, request_id } = await anthropic()
      .messages.create({ model: 'claude-sonnet-4-6', max_tokens: 256, messages: [{ role: 'user', content: 'What is our parental leave policy?' }] })
      .withResponse();
    expect(data.type).toBe('message');
    expect(data.id).toMatch(/^msg_/);
    expect(data.stop_reason).toBe('end_turn');
    const block = data.content[0];
    expect(block?.type === 'text' && block.text).toMatch(/parental/);
    expect(data.usage.input_tokens).toBeGreaterThan(0);
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    expect(request_id).toMatch(/^req_/);
  });

  it('streams events the SDK accumulates into the same message', async () => {
    const client = anthropic();
    const params = { model: 'claude-sonnet-4-6', max_tokens: 256, messages: [{ role: 'user' as const, content: 'Summarise the onboarding checklist' }] };
    const whole = await client.messages.create(params);
    const stream = client.messages.stream(params);
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const final = await stream.finalMessage();
    const text = final.content[0]?.type === 'text' ? final.content[0].text : '';
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join('')).toBe(text);
    expect(text).toBe(whole.content[0]?.type === 'text' ? whole.content[0].text : undefined);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(whole.usage.output_tokens);
  });

  it('names raw stream events in the documented order', async () => {
    const stream = await anthropic().messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 3,
      stream: true,
      messages: [{ role: 'user', content: 'list the deployment steps' }],
    });
    const types: string[] = [];
    let stop: string | null = null;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'message_delta') stop = event.delta.stop_reason;
    }
    expect(types[0]).toBe('message_start');
    expect(types[1]).toBe('content_block_start');
    expect(types.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'content_block_delta').length).toBeGreaterThan(0);
    expect(stop).toBe('max_tokens');
  });

  it('rejects a call without x-api-key with the SDK AuthenticationError', async () => {
    const err = await anthropic()
      .messages.create(
        { model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-api-key': null } },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('requires the anthropic-version header', async () => {
    const res = await undiciFetch(`${upstreams.url}/v1/messages`, {
      method: 'POST',
      dispatcher,
      headers: { 'x-api-key': 'sk-ant-test', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});

describe('routing', () => {
  it('serves a provider path only under its own host name', async () => {
    // fetch may not set Host, so this uses node:https directly
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: upstreams.host,
          port: upstreams.port,
          path: '/v1/messages',
          method: 'POST',
          ca: upstreams.caCertPem,
          servername: 'api.openai.com',
          headers: { host: 'api.openai.com', 'x-api-key': 'k', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(404);
  });
});
