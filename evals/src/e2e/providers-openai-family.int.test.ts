/**
 * The JSON/SSE provider family through the scanner's MITM proxy with each
 * provider's official SDK against the demo mock upstreams: OpenAI Responses
 * and embeddings (`openai`), Azure OpenAI (`AzureOpenAI`), Mistral
 * (`@mistralai/mistralai`), Together (`together-ai`) and Cohere v2
 * (`cohere-ai`). For each: a normal call, a streamed call, a blocked call (the
 * SDK raises its own error for the provider-shaped 403 and the provider never
 * sees the request), a redacted call (the provider receives the redacted
 * text), each asserting the LlmCall the scanner recorded.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Mistral } from '@mistralai/mistralai';
import { HTTPClient } from '@mistralai/mistralai/lib/http.js';
import type { MockUpstreams } from '@higgs/demo';
import type { ScannerHandle } from '@higgs/scanner';
import type { ScannerPolicy } from '@higgs/schema';
import { CohereClientV2, CohereError } from 'cohere-ai';
import OpenAI, { AzureOpenAI } from 'openai';
import Together from 'together-ai';
import { fetch as undiciFetch, ProxyAgent } from 'undici';
import { promptIs, startProxiedProviders, testRule, type ProxiedProviders } from '../testing/proxied-providers.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SSN = '536-22-8841';
const AZURE_HOST = 'higgs-demo.openai.azure.com';
const policy: ScannerPolicy = {
  version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
  rules: [testRule('no-forbidden', 'block', { promptContains: ['forbidden-topic'] }), testRule('redact-ssn', 'redact', { piiTypes: ['ssn'] })],
};

let env: ProxiedProviders;
let scanner: ScannerHandle;
let upstreams: MockUpstreams;
let proxiedFetch: typeof fetch;
let lastCall: ProxiedProviders['lastCall'];

beforeAll(async () => {
  env = await startProxiedProviders({
    name: 'openai-family', policy, hosts: ['api.openai.com', AZURE_HOST, 'api.mistral.ai', 'api.together.ai', 'api.cohere.com'],
  });
  ({ scanner, upstreams, proxiedFetch, lastCall } = env);
});

afterAll(async () => {
  await env?.close();
});

const lastReceived = () => JSON.stringify(upstreams.received.at(-1)?.body);

/** Runs a call that the policy blocks and checks the provider never saw it; returns what the SDK threw. */
async function blocked(call: () => Promise<unknown>): Promise<unknown> {
  const before = upstreams.count();
  const err = await call().then(() => null, (e: unknown) => e);
  expect(upstreams.count()).toBe(before);
  expect(err).not.toBeNull();
  return err;
}

describe('OpenAI Responses and embeddings through the proxy (openai SDK)', () => {
  const client = () => new OpenAI({ apiKey: 'sk-test-not-a-secret', maxRetries: 0, fetch: proxiedFetch });

  it('records a Responses call: instructions as system, input, output text, status and usage', async () => {
    const r = await client().responses.create({ model: 'gpt-4.1-mini', instructions: 'Be brief.', input: 'explain quarterly billing cycles' });
    expect(r.output_text).toContain('billing');
    const call = await lastCall(promptIs('explain quarterly billing cycles'));
    expect(call).toMatchObject({
      provider: 'openai', endpoint: 'responses', host: 'api.openai.com', parsed: true, model: 'gpt-4.1-mini', stream: false, status: 200, verdict: 'allow',
      system: 'Be brief.', messages: [{ role: 'user', content: 'explain quarterly billing cycles' }],
      response: { content: r.output_text, finishReason: 'completed' },
      usage: { inputTokens: r.usage!.input_tokens, outputTokens: r.usage!.output_tokens, cachedTokens: 0 },
    });
  });

  it('records a streamed Responses call from its typed events', async () => {
    const stream = await client().responses.create({ model: 'gpt-4.1-mini', input: [{ role: 'user', content: 'stream invoice reminders' }], stream: true });
    let text = '';
    let usage: OpenAI.Responses.ResponseUsage | undefined;
    for await (const e of stream) {
      if (e.type === 'response.output_text.delta') text += e.delta;
      if (e.type === 'response.completed') usage = e.response.usage;
    }
    expect(text).toContain('invoice');
    const call = await lastCall(promptIs('stream invoice reminders'));
    expect(call).toMatchObject({
      provider: 'openai', endpoint: 'responses', stream: true, status: 200, response: { content: text, finishReason: 'completed' },
      usage: { inputTokens: usage!.input_tokens, outputTokens: usage!.output_tokens },
    });
  });

  it('blocks a Responses call with an OpenAI error the SDK raises as PermissionDeniedError', async () => {
    const err = await blocked(() => client().responses.create({ model: 'gpt-4.1-mini', input: 'tell me the forbidden-topic' }));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err).toMatchObject({ status: 403, code: 'higgs_blocked' });
    expect(await lastCall(promptIs('forbidden-topic'))).toMatchObject({ endpoint: 'responses', status: 403, verdict: 'block', ruleIds: ['no-forbidden'] });
  });

  it('redacts a Responses input before it reaches the provider', async () => {
    await client().responses.create({ model: 'gpt-4.1-mini', input: [{ role: 'user', content: [{ type: 'input_text', text: `update the record for SSN ${SSN}` }] }] });
    expect(lastReceived()).not.toContain(SSN);
    expect(lastReceived()).toContain('update the record for SSN');
    expect(await lastCall(promptIs('update the record for SSN'))).toMatchObject({ endpoint: 'responses', verdict: 'redact', status: 200 });
  });

  it('records a forced function call, streamed, and the next turn carrying its output', async () => {
    const tools: OpenAI.Responses.Tool[] = [{ type: 'function', name: 'lookup_invoice', strict: true, parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'], additionalProperties: false } }];
    const stream = await client().responses.create({ model: 'gpt-4.1-mini', input: 'find overdue invoices', tools, tool_choice: 'required', stream: true });
    let args = '';
    let callId = '';
    for await (const e of stream) {
      if (e.type === 'response.function_call_arguments.delta') args += e.delta;
      if (e.type === 'response.output_item.done' && e.item.type === 'function_call') callId = e.item.call_id;
    }
    expect(JSON.parse(args)).toEqual({ query: 'find overdue invoices' });
    expect(await lastCall(promptIs('find overdue invoices'))).toMatchObject({
      endpoint: 'responses', stream: true, tools: ['lookup_invoice'], response: { content: null, toolCalls: [{ id: callId, name: 'lookup_invoice', input: args }] },
    });
    await client().responses.create({
      model: 'gpt-4.1-mini', tools,
      input: [
        { role: 'user', content: 'find overdue invoices again' },
        { type: 'function_call', call_id: callId, name: 'lookup_invoice', arguments: args },
        { type: 'function_call_output', call_id: callId, output: '{"overdue":2}' },
      ],
    });
    expect((await lastCall(promptIs('find overdue invoices again'))).messages).toEqual([
      { role: 'user', content: 'find overdue invoices again' },
      { role: 'assistant', content: args, toolName: 'lookup_invoice' },
      { role: 'tool', content: '{"overdue":2}', toolName: 'lookup_invoice' },
    ]);
  });

  it('records an embeddings call (base64 vectors decoded by the SDK) with usage and no response text', async () => {
    const r = await client().embeddings.create({ model: 'text-embedding-3-small', input: ['refund policy', 'shipping times'] });
    expect(r.data).toHaveLength(2);
    expect(r.data[0]!.embedding).toHaveLength(1536);
    const call = await lastCall(promptIs('refund policy'));
    expect(call).toMatchObject({
      provider: 'openai', endpoint: 'embeddings', model: 'text-embedding-3-small', status: 200,
      messages: [{ role: 'user', content: 'refund policy' }, { role: 'user', content: 'shipping times' }],
      response: { content: null }, usage: { inputTokens: r.usage.prompt_tokens, outputTokens: 0 },
    });
  });

  it('blocks and redacts embeddings inputs like prompts', async () => {
    await blocked(() => client().embeddings.create({ model: 'text-embedding-3-small', input: 'forbidden-topic notes' }));
    await client().embeddings.create({ model: 'text-embedding-3-small', input: `customer ${SSN} file` });
    expect(lastReceived()).not.toContain(SSN);
  });
});

describe('Azure OpenAI through the proxy (AzureOpenAI client)', () => {
  const client = () => new AzureOpenAI({
    apiKey: 'azure-test-key', endpoint: `https://${AZURE_HOST}`, apiVersion: '2024-10-21', deployment: 'gpt4o-prod', maxRetries: 0, fetch: proxiedFetch,
  });

  it('records a deployment call with the deployment as model and api-version in the path', async () => {
    const r = await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'azure renewal terms' }] });
    const call = await lastCall(promptIs('azure renewal terms'));
    expect(call).toMatchObject({
      provider: 'azure_openai', endpoint: 'chat', host: AZURE_HOST, model: 'gpt4o-prod', status: 200, system: 'Be brief.',
      path: '/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21',
      response: { content: r.choices[0]!.message.content, finishReason: 'stop' },
      usage: { inputTokens: r.usage!.prompt_tokens, outputTokens: r.usage!.completion_tokens },
    });
    expect(upstreams.received.at(-1)?.headers['api-key']).toMatch(/^\*\*\*\*/);
  });

  it('records a streamed call past the prompt-filter chunk', async () => {
    const stream = await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'azure streaming quotas' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(await lastCall(promptIs('azure streaming quotas'))).toMatchObject({
      provider: 'azure_openai', model: 'gpt4o-prod', stream: true, status: 200, response: { content: text, finishReason: 'stop' }, usage: { inputTokens: expect.any(Number) },
    });
  });

  it('blocks with an OpenAI-shaped 403 and redacts before Azure sees the prompt', async () => {
    const err = await blocked(() => client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'azure forbidden-topic' }] }));
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(await lastCall(promptIs('azure forbidden-topic'))).toMatchObject({ provider: 'azure_openai', status: 403, verdict: 'block' });
    await client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `azure lookup ${SSN}` }] });
    expect(lastReceived()).not.toContain(SSN);
    expect(await lastCall(promptIs('azure lookup'))).toMatchObject({ provider: 'azure_openai', verdict: 'redact', status: 200 });
  });

  it('records an Azure Responses call, the body\'s model naming the deployment', async () => {
    const r = await client().responses.create({ model: 'gpt4o-prod', input: 'azure responses rollout' });
    expect(await lastCall(promptIs('azure responses rollout'))).toMatchObject({
      provider: 'azure_openai', endpoint: 'responses', host: AZURE_HOST, model: 'gpt4o-prod', status: 200,
      response: { content: r.output_text, finishReason: 'completed' }, usage: { inputTokens: r.usage!.input_tokens, outputTokens: r.usage!.output_tokens },
    });
    expect(upstreams.received.at(-1)?.path).toMatch(/^\/openai\/(v1\/)?responses$/);
  });

  it('records an Azure embeddings deployment call', async () => {
    const azure = new AzureOpenAI({ apiKey: 'azure-test-key', endpoint: `https://${AZURE_HOST}`, apiVersion: '2024-10-21', deployment: 'emb-small', maxRetries: 0, fetch: proxiedFetch });
    const r = await azure.embeddings.create({ model: 'text-embedding-3-small', input: 'azure embedding text' });
    expect(await lastCall(promptIs('azure embedding text'))).toMatchObject({
      provider: 'azure_openai', endpoint: 'embeddings', model: 'emb-small', usage: { inputTokens: r.usage.prompt_tokens, outputTokens: 0 },
    });
  });
});

describe('Mistral through the proxy (@mistralai/mistralai)', () => {
  const client = () => new Mistral({ apiKey: 'mistral-test-key', httpClient: new HTTPClient({ fetcher: proxiedFetch }), retryConfig: { strategy: 'none' } });

  it('records a chat call', async () => {
    const r = await client().chat.complete({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'mistral pricing tiers' }] });
    const call = await lastCall(promptIs('mistral pricing tiers'));
    expect(call).toMatchObject({
      provider: 'mistral', endpoint: 'chat', host: 'api.mistral.ai', model: 'mistral-small-latest', status: 200, stream: false,
      response: { content: r.choices[0]!.message!.content, finishReason: 'stop' },
      usage: { inputTokens: r.usage.promptTokens, outputTokens: r.usage.completionTokens },
    });
  });

  it('records a streamed chat call with the usage of the last chunk', async () => {
    const stream = await client().chat.stream({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'mistral streaming latency' }] });
    let text = '';
    let outputTokens = -1;
    for await (const e of stream) {
      const delta = e.data.choices[0]?.delta.content;
      if (typeof delta === 'string') text += delta;
      if (e.data.usage) outputTokens = e.data.usage.completionTokens ?? -1;
    }
    expect(text).toContain('latency');
    expect(await lastCall(promptIs('mistral streaming latency'))).toMatchObject({
      provider: 'mistral', stream: true, status: 200, response: { content: text, finishReason: 'stop' }, usage: { outputTokens },
    });
  });

  it('blocks with a Mistral-shaped error the SDK surfaces with status 403, and redacts', async () => {
    const err = await blocked(() => client().chat.complete({ model: 'mistral-small-latest', messages: [{ role: 'user', content: 'mistral forbidden-topic' }] }));
    expect(err).toMatchObject({ statusCode: 403 });
    expect(JSON.parse((err as { body: string }).body)).toMatchObject({ object: 'error', type: 'higgs_policy_violation' });
    await client().chat.complete({ model: 'mistral-small-latest', messages: [{ role: 'user', content: `mistral case ${SSN}` }] });
    expect(lastReceived()).not.toContain(SSN);
    expect(await lastCall(promptIs('mistral case'))).toMatchObject({ provider: 'mistral', verdict: 'redact', status: 200 });
  });
});

describe('Together through the proxy (together-ai)', () => {
  const client = () => new Together({ apiKey: 'together-test-key', maxRetries: 0, fetch: proxiedFetch });
  const MODEL = 'meta-llama/Llama-3.3-70B-Instruct-Turbo';

  it('records a chat call on api.together.ai', async () => {
    const r = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'together cluster sizing' }] });
    expect(await lastCall(promptIs('together cluster sizing'))).toMatchObject({
      provider: 'together', endpoint: 'chat', host: 'api.together.ai', model: MODEL, status: 200,
      response: { content: r.choices[0]!.message!.content, finishReason: 'stop' },
      usage: { inputTokens: r.usage!.prompt_tokens, outputTokens: r.usage!.completion_tokens },
    });
  });

  it('records a streamed chat call', async () => {
    const stream = await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'together streaming tokens' }], stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    expect(text).toContain('tokens');
    expect(await lastCall(promptIs('together streaming tokens'))).toMatchObject({
      provider: 'together', stream: true, status: 200, response: { content: text, finishReason: 'stop' }, usage: { inputTokens: expect.any(Number) },
    });
  });

  it('blocks with a PermissionDeniedError and redacts', async () => {
    const err = await blocked(() => client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'together forbidden-topic' }] }));
    expect(err).toBeInstanceOf(Together.PermissionDeniedError);
    expect(await lastCall(promptIs('together forbidden-topic'))).toMatchObject({ provider: 'together', status: 403, verdict: 'block' });
    await client().chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: `together file ${SSN}` }] });
    expect(lastReceived()).not.toContain(SSN);
  });
});

describe('Cohere v2 chat through the proxy (cohere-ai)', () => {
  const client = () => new CohereClientV2({ token: 'cohere-test-key', fetch: proxiedFetch, maxRetries: 0 });

  it('records a chat call with usage from tokens', async () => {
    const r = await client().chat({ model: 'command-a-03-2025', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'cohere retrieval setup' }] });
    const text = r.message.content?.map((p) => (p.type === 'text' ? p.text : '')).join('') ?? '';
    expect(await lastCall(promptIs('cohere retrieval setup'))).toMatchObject({
      provider: 'cohere', endpoint: 'chat', host: 'api.cohere.com', model: 'command-a-03-2025', status: 200, system: 'Be brief.',
      response: { content: text, finishReason: 'COMPLETE' },
      usage: { inputTokens: r.usage!.tokens!.inputTokens, outputTokens: r.usage!.tokens!.outputTokens },
    });
  });

  it('records a streamed chat call from its typed events', async () => {
    const stream = await client().chatStream({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'cohere streaming citations' }] });
    let text = '';
    for await (const e of stream) if (e.type === 'content-delta') text += e.delta?.message?.content?.text ?? '';
    expect(text).toContain('citations');
    expect(await lastCall(promptIs('cohere streaming citations'))).toMatchObject({
      provider: 'cohere', stream: true, status: 200, response: { content: text, finishReason: 'COMPLETE' }, usage: { inputTokens: expect.any(Number) },
    });
  });

  it('records a required tool call, JSON and streamed, and a tool result turn', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'search_kb', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }];
    const r = await client().chat({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'cohere escalation policy' }], tools, toolChoice: 'REQUIRED' });
    const call = r.message.toolCalls![0]!;
    expect(await lastCall(promptIs('cohere escalation policy'))).toMatchObject({
      tools: ['search_kb'], response: { finishReason: 'TOOL_CALL', toolCalls: [{ id: call.id, name: 'search_kb', input: call.function!.arguments }] },
    });
    const stream = await client().chatStream({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'cohere streamed escalation' }], tools, toolChoice: 'REQUIRED' });
    let args = '';
    for await (const e of stream) if (e.type === 'tool-call-delta') args += e.delta?.message?.toolCalls?.function?.arguments ?? '';
    expect(JSON.parse(args)).toEqual({ query: 'cohere streamed escalation' });
    expect(await lastCall(promptIs('cohere streamed escalation'))).toMatchObject({
      stream: true, response: { finishReason: 'TOOL_CALL', toolCalls: [{ name: 'search_kb', input: args }] },
    });
    await client().chat({
      model: 'command-a-03-2025', tools,
      messages: [
        { role: 'user', content: 'cohere escalation follow-up' },
        { role: 'assistant', toolPlan: 'I will search.', toolCalls: [{ id: call.id, type: 'function', function: { name: 'search_kb', arguments: call.function!.arguments } }] },
        { role: 'tool', toolCallId: call.id!, content: [{ type: 'document', document: { data: { tier: 'gold' } } }] },
      ],
    });
    expect((await lastCall(promptIs('cohere escalation follow-up'))).messages.at(-1)).toEqual({ role: 'tool', content: '{"tier":"gold"}', toolName: 'search_kb' });
  });

  it('blocks with a { id, message } body the SDK raises as ForbiddenError, and redacts', async () => {
    const err = await blocked(() => client().chat({ model: 'command-a-03-2025', messages: [{ role: 'user', content: 'cohere forbidden-topic' }] }));
    expect(err).toBeInstanceOf(CohereError);
    expect(err).toMatchObject({ statusCode: 403, body: { message: expect.stringContaining('blocked by Higgs') } });
    await client().chat({ model: 'command-a-03-2025', messages: [{ role: 'user', content: `cohere account ${SSN}` }] });
    expect(lastReceived()).not.toContain(SSN);
    expect(await lastCall(promptIs('cohere account'))).toMatchObject({ provider: 'cohere', verdict: 'redact', status: 200 });
  });
});

describe('a self-hosted OpenAI-compatible server (vLLM, Ollama, TGI) on any host', () => {
  it('is inspected over plain HTTP by path shape and recorded as openai_compatible', async () => {
    const seen: string[] = [];
    // a vLLM-like server: plain HTTP, OpenAI's chat wire format, no TLS and no well-known host name
    const vllm = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        seen.push(body);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          id: 'chatcmpl-vllm', object: 'chat.completion', created: 1, model: 'Qwen/Qwen2.5-7B-Instruct',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Sure.', tool_calls: [] }, logprobs: null, finish_reason: 'stop', stop_reason: null }],
          usage: { prompt_tokens: 12, total_tokens: 14, completion_tokens: 2, prompt_tokens_details: null },
        }));
      });
    });
    await new Promise<void>((r) => vllm.listen(0, '127.0.0.1', () => r()));
    // absolute-URI requests through the proxy, as HTTP_PROXY clients send them (no CONNECT tunnel)
    const plain = new ProxyAgent({ uri: scanner.proxyUrl, proxyTunnel: false });
    try {
      const client = new OpenAI({
        apiKey: 'EMPTY', baseURL: `http://127.0.0.1:${(vllm.address() as AddressInfo).port}/v1`, maxRetries: 0,
        fetch: ((input: string, init?: RequestInit) => undiciFetch(input, { ...(init as object), dispatcher: plain } as never)) as unknown as typeof fetch,
      });
      const r = await client.chat.completions.create({ model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'self-hosted capacity' }] });
      expect(r.choices[0]?.message.content).toBe('Sure.');
      expect(await lastCall(promptIs('self-hosted capacity'))).toMatchObject({
        provider: 'openai_compatible', endpoint: 'chat', host: '127.0.0.1', parsed: true, model: 'Qwen/Qwen2.5-7B-Instruct', status: 200,
        response: { content: 'Sure.', finishReason: 'stop' }, usage: { inputTokens: 12, outputTokens: 2 },
      });
      const err = await client.chat.completions.create({ model: 'Qwen/Qwen2.5-7B-Instruct', messages: [{ role: 'user', content: 'self-hosted forbidden-topic' }] }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(seen).toHaveLength(1);
    } finally {
      await plain.close();
      await new Promise<void>((r) => vllm.close(() => r()));
    }
  });
});
