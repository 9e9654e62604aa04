/**
 * AWS Bedrock and Gemini through the scanner's MITM proxy with their official
 * SDKs (`@aws-sdk/client-bedrock-runtime`, `@google/genai`) against the demo
 * mock upstreams: a normal call, a streamed call, a blocked call and a
 * redacted call each, asserting the LlmCall the scanner recorded.
 */
import {
  type BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { GoogleGenAI } from '@google/genai';
import type { MockUpstreams } from '@higgs/demo';
import type { ScannerPolicy } from '@higgs/schema';
import { promptIs, startProxiedProviders, testRule, type ProxiedProviders } from '../testing/proxied-providers.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SSN = '536-22-8841';
const CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const TITAN = 'amazon.titan-text-express-v1';
const NOVA = 'amazon.nova-lite-v1:0';
const policy: ScannerPolicy = {
  version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
  rules: [testRule('no-forbidden', 'block', { promptContains: ['forbidden-topic'] }), testRule('redact-ssn', 'redact', { piiTypes: ['ssn'] })],
};

let env: ProxiedProviders;
let upstreams: MockUpstreams;
let bedrock: BedrockRuntimeClient;
let gemini: GoogleGenAI;
let lastCall: ProxiedProviders['lastCall'];

beforeAll(async () => {
  env = await startProxiedProviders({ name: 'cloud-sdks', policy, hosts: ['bedrock-runtime.us-east-1.amazonaws.com', 'generativelanguage.googleapis.com'] });
  ({ upstreams, bedrock, lastCall } = env);
  gemini = new GoogleGenAI({ apiKey: 'AIza-test-not-a-key', httpOptions: { fetch: env.proxiedFetch, retryOptions: { attempts: 1 } } as never });
});

afterAll(async () => {
  await env?.close();
});

const json = (bytes: Uint8Array | undefined): unknown => JSON.parse(Buffer.from(bytes ?? []).toString('utf8'));

describe('Bedrock runtime through the proxy with @aws-sdk/client-bedrock-runtime', () => {
  it('InvokeModel with an Anthropic body: relayed and recorded with model, usage and finish reason', async () => {
    const out = await bedrock.send(new InvokeModelCommand({
      modelId: CLAUDE, contentType: 'application/json', accept: 'application/json',
      body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'summarise the quarterly invoices' }] }),
    }));
    const message = json(out.body) as { content: Array<{ text: string }>; usage: { input_tokens: number; output_tokens: number } };
    const call = await lastCall(promptIs('summarise the quarterly invoices'));
    expect(call).toMatchObject({
      provider: 'bedrock', endpoint: 'invoke', host: 'bedrock-runtime.us-east-1.amazonaws.com', parsed: true, model: CLAUDE, stream: false,
      system: 'Be brief.', status: 200, verdict: 'allow',
      response: { content: message.content[0]!.text, finishReason: 'end_turn' },
      usage: { inputTokens: message.usage.input_tokens, outputTokens: message.usage.output_tokens },
    });
  });

  it('InvokeModelWithResponseStream (Anthropic and Titan): the SDK decodes every chunk, the scanner records the assembled text', async () => {
    const out = await bedrock.send(new InvokeModelWithResponseStreamCommand({
      modelId: CLAUDE, contentType: 'application/json',
      body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 200, messages: [{ role: 'user', content: 'stream the shipping policy' }] }),
    }));
    let text = '';
    for await (const e of out.body!) {
      const ev = json(e.chunk?.bytes) as { type: string; delta?: { text?: string } };
      if (ev.type === 'content_block_delta') text += ev.delta?.text ?? '';
    }
    expect(text.length).toBeGreaterThan(0);
    const call = await lastCall(promptIs('stream the shipping policy'));
    expect(call).toMatchObject({ provider: 'bedrock', endpoint: 'invoke', model: CLAUDE, stream: true, status: 200, response: { content: text, finishReason: 'end_turn' } });
    expect(call.usage?.outputTokens).toBeGreaterThan(0);

    const titan = await bedrock.send(new InvokeModelWithResponseStreamCommand({
      modelId: TITAN, contentType: 'application/json', body: JSON.stringify({ inputText: 'stream the refund rules', textGenerationConfig: { maxTokenCount: 100 } }),
    }));
    let titanText = '';
    for await (const e of titan.body!) titanText += (json(e.chunk?.bytes) as { outputText: string }).outputText;
    expect(await lastCall(promptIs('stream the refund rules'))).toMatchObject({ model: TITAN, stream: true, response: { content: titanText, finishReason: 'FINISH' } });
  });

  it('Converse and ConverseStream: recorded with usage from the response and from the metadata event', async () => {
    const out = await bedrock.send(new ConverseCommand({
      modelId: NOVA, system: [{ text: 'You are a support agent.' }], messages: [{ role: 'user', content: [{ text: 'explain the warranty terms' }] }],
      inferenceConfig: { maxTokens: 200 },
    }));
    const call = await lastCall(promptIs('explain the warranty terms'));
    expect(call).toMatchObject({
      provider: 'bedrock', endpoint: 'converse', model: NOVA, stream: false, system: 'You are a support agent.',
      response: { content: out.output!.message!.content![0]!.text, finishReason: out.stopReason },
      usage: { inputTokens: out.usage!.inputTokens, outputTokens: out.usage!.outputTokens },
    });

    const streamed = await bedrock.send(new ConverseStreamCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'stream the warranty terms' }] }] }));
    let text = '';
    let usage: { inputTokens?: number; outputTokens?: number } | undefined;
    for await (const e of streamed.stream!) {
      text += e.contentBlockDelta?.delta?.text ?? '';
      usage = e.metadata?.usage ?? usage;
    }
    expect(await lastCall(promptIs('stream the warranty terms'))).toMatchObject({
      endpoint: 'converse', stream: true, response: { content: text, finishReason: 'end_turn' },
      usage: { inputTokens: usage!.inputTokens, outputTokens: usage!.outputTokens },
    });
  });

  it('a blocked call never reaches Bedrock and the SDK raises AccessDeniedException', async () => {
    const before = upstreams.count('bedrock');
    const err = await bedrock.send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'tell me about forbidden-topic' }] }] }))
      .then(() => null, (e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode: number } });
    expect(err).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
    expect(err!.message).toContain('blocked by Higgs policy: no-forbidden');
    expect(upstreams.count('bedrock')).toBe(before);
    expect(await lastCall(promptIs('forbidden-topic'))).toMatchObject({ provider: 'bedrock', status: 403, verdict: 'block', ruleIds: ['no-forbidden'] });
  });

  it('a redacted call reaches Bedrock without the SSN', async () => {
    await bedrock.send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: `update my record, SSN ${SSN}` }] }] }));
    const seen = JSON.stringify(upstreams.received.at(-1)?.body);
    expect(seen).toContain('update my record');
    expect(seen).not.toContain(SSN);
    const call = await lastCall(promptIs('update my record'));
    expect(call).toMatchObject({ verdict: 'redact', status: 200 });
    expect(call.detections).toContainEqual(expect.objectContaining({ type: 'ssn', field: 'prompt' }));
  });
});

describe('Gemini through the proxy with @google/genai', () => {
  it('generateContent: relayed and recorded', async () => {
    const r = await gemini.models.generateContent({
      model: 'gemini-2.5-flash', contents: 'describe the onboarding checklist', config: { systemInstruction: 'Answer in one line.' },
    });
    const call = await lastCall(promptIs('describe the onboarding checklist'));
    expect(call).toMatchObject({
      provider: 'gemini', endpoint: 'generate_content', host: 'generativelanguage.googleapis.com', model: 'gemini-2.5-flash', stream: false,
      system: 'Answer in one line.', status: 200, verdict: 'allow', response: { content: r.text, finishReason: 'STOP' },
      usage: { inputTokens: r.usageMetadata!.promptTokenCount, outputTokens: r.usageMetadata!.candidatesTokenCount },
    });
  });

  it('generateContentStream: the SDK sees every piece, the scanner records the whole text', async () => {
    const stream = await gemini.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'stream the onboarding checklist' });
    let text = '';
    let pieces = 0;
    for await (const chunk of stream) {
      text += chunk.text ?? '';
      pieces += 1;
    }
    expect(pieces).toBeGreaterThan(1);
    expect(await lastCall(promptIs('stream the onboarding checklist'))).toMatchObject({
      provider: 'gemini', stream: true, path: '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', response: { content: text, finishReason: 'STOP' },
    });
  });

  it('a blocked call never reaches Gemini and the SDK raises an ApiError with status 403', async () => {
    const before = upstreams.count('gemini');
    const err = await gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: 'what about forbidden-topic' })
      .then(() => null, (e: unknown) => e as { name: string; status: number; message: string });
    expect(err).toMatchObject({ name: 'ApiError', status: 403 });
    expect(err!.message).toContain('blocked by Higgs policy: no-forbidden');
    expect(upstreams.count('gemini')).toBe(before);
    expect(await lastCall((c) => c.provider === 'gemini' && promptIs('forbidden-topic')(c))).toMatchObject({ status: 403, verdict: 'block' });
  });

  it('a redacted call reaches Gemini without the SSN', async () => {
    await gemini.models.generateContent({ model: 'gemini-2.5-flash', contents: `file my claim, SSN ${SSN}` });
    const seen = JSON.stringify(upstreams.received.at(-1)?.body);
    expect(seen).toContain('file my claim');
    expect(seen).not.toContain(SSN);
    expect(await lastCall(promptIs('file my claim'))).toMatchObject({ provider: 'gemini', verdict: 'redact', status: 200 });
  });
});
