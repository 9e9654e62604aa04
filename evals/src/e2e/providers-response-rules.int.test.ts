/**
 * Response rules on the streams of Bedrock (both AWS event-stream actions),
 * Cohere and Gemini, through the scanner's MITM proxy with each official SDK
 * against the demo mock upstreams: a redact rule whose match is split across
 * stream events is redacted before the SDK sees it, and a block rule cuts the
 * stream mid-way with the provider's own error framing — what each SDK then
 * surfaces is what scanner/README.md says ("What the client sees when a
 * stream is cut").
 */
import { type BedrockRuntimeClient, ConverseStreamCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { GoogleGenAI } from '@google/genai';
import type { LlmCall, ScannerPolicy } from '@higgs/schema';
import { CohereClientV2 } from 'cohere-ai';
import { promptIs, startProxiedProviders, testRule, type ProxiedProviders } from '../testing/proxied-providers.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The mock's reply is ~42 words streamed in 4 (Bedrock, Gemini) or 5 (Cohere)
// deltas cut at word boundaries, so at most 11 words a delta: this 15-word
// sentence of every reply always spans at least two deltas.
const SPLIT = 'the relevant settings, and confirm the change took effect. If anything still looks wrong';
const CUT = 'walk you through';
// the rules are scoped by model, so one policy serves the redact and the block calls
const REDACT_MODELS = { claude: 'anthropic.claude-3-5-haiku-20241022-v1:0', titan: 'amazon.titan-text-express-v1', nova: 'amazon.nova-lite-v1:0', gemini: 'gemini-2.5-flash', cohere: 'command-a-03-2025' };
const BLOCK_MODELS = { claude: 'anthropic.claude-3-haiku-20240307-v1:0', nova: 'amazon.nova-micro-v1:0', gemini: 'gemini-2.5-pro', cohere: 'command-r-plus-08-2024' };
const policy: ScannerPolicy = {
  version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
  rules: [
    testRule('resp-redact', 'redact', { responseContains: [SPLIT], models: Object.values(REDACT_MODELS) }),
    testRule('resp-block', 'block', { responseContains: [CUT], models: Object.values(BLOCK_MODELS) }),
  ],
};

let env: ProxiedProviders;
let bedrock: BedrockRuntimeClient;
let gemini: GoogleGenAI;
let cohere: CohereClientV2;
let decisionsOf: ProxiedProviders['decisionsOf'];
const lastCall = (prompt: string) => env.lastCall(promptIs(prompt));

beforeAll(async () => {
  env = await startProxiedProviders({
    name: 'response-rules', policy, hosts: ['bedrock-runtime.us-east-1.amazonaws.com', 'generativelanguage.googleapis.com', 'api.cohere.com'],
  });
  ({ bedrock, decisionsOf } = env);
  gemini = new GoogleGenAI({ apiKey: 'AIza-test-not-a-key', httpOptions: { fetch: env.proxiedFetch, retryOptions: { attempts: 1 } } as never });
  cohere = new CohereClientV2({ token: 'cohere-test-key', fetch: env.proxiedFetch, maxRetries: 0 });
});

afterAll(async () => {
  await env?.close();
});

const json = (bytes: Uint8Array | undefined): Record<string, unknown> => JSON.parse(Buffer.from(bytes ?? []).toString('utf8')) as Record<string, unknown>;

/** What the SDK got: the text of the events before the error, how many text events, and the error it raised (null when none). */
interface Seen { text: string; events: number; error: (Error & Record<string, unknown>) | null }
async function collect<T>(iterable: AsyncIterable<T>, textOf: (e: T) => string | null): Promise<Seen> {
  const seen: Seen = { text: '', events: 0, error: null };
  try {
    for await (const e of iterable) {
      const t = textOf(e);
      if (t === null) continue;
      seen.text += t;
      seen.events += 1;
    }
  } catch (err) {
    seen.error = err as Seen['error'];
  }
  return seen;
}

/** The redacted answer as the SDK assembled it, and as the scanner recorded it. */
async function expectRedacted(seen: Seen, prompt: string): Promise<void> {
  expect(seen.error).toBeNull();
  expect(seen.events).toBeGreaterThan(1);
  expect(seen.text).toContain('[REDACTED]');
  expect(seen.text.toLowerCase()).not.toContain('confirm the change');
  expect(seen.text).toMatch(/official guidance for your account, check \[REDACTED\], share the exact step/);
  const call = await lastCall(prompt);
  expect(call).toMatchObject({ status: 200, stream: true, verdict: 'redact', ruleIds: ['resp-redact'], response: { content: seen.text } });
  expect(decisionsOf(call.id)).toContainEqual(expect.objectContaining({ ruleId: 'resp-redact', action: 'redact', matchedField: 'response', matchedHash: expect.stringMatching(/^[0-9a-f]{16}$/) }));
  expect(JSON.stringify(call)).not.toContain('confirm the change');
}

/** A cut stream: the SDK got the text before the match (and nothing of it), then its error; the call is recorded as blocked. */
async function expectCut(seen: Seen, prompt: string): Promise<LlmCall> {
  expect(seen.text).toContain('official guidance');
  expect(seen.text).not.toContain('walk');
  const call = await lastCall(prompt);
  expect(call).toMatchObject({ stream: true, verdict: 'block', ruleIds: ['resp-block'], error: expect.stringContaining('resp-block') });
  expect(decisionsOf(call.id)).toContainEqual(expect.objectContaining({ ruleId: 'resp-block', action: 'block', matchedField: 'response' }));
  return call;
}

describe('Bedrock event-stream responses (@aws-sdk/client-bedrock-runtime)', () => {
  const invokeClaude = (modelId: string, content: string) => bedrock.send(new InvokeModelWithResponseStreamCommand({
    modelId, contentType: 'application/json', body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 300, messages: [{ role: 'user', content }] }),
  }));
  const claudeText = (e: { chunk?: { bytes?: Uint8Array } }): string | null => {
    const ev = json(e.chunk?.bytes) as { type?: string; delta?: { text?: string } };
    return ev.type === 'content_block_delta' ? ev.delta?.text ?? '' : null;
  };

  it('InvokeModelWithResponseStream (Anthropic, Titan): a match split across chunks is redacted inside the base64 chunk', async () => {
    const out = await invokeClaude(REDACT_MODELS.claude, 'stream the parcel tracking');
    await expectRedacted(await collect(out.body!, claudeText), 'stream the parcel tracking');
    const titan = await bedrock.send(new InvokeModelWithResponseStreamCommand({
      modelId: REDACT_MODELS.titan, contentType: 'application/json', body: JSON.stringify({ inputText: 'stream the pallet tracking', textGenerationConfig: { maxTokenCount: 300 } }),
    }));
    await expectRedacted(await collect(titan.body!, (e) => (json(e.chunk?.bytes) as { outputText: string }).outputText), 'stream the pallet tracking');
  });

  it('InvokeModelWithResponseStream: a block cuts the stream and the SDK raises ModelStreamErrorException', async () => {
    const out = await invokeClaude(BLOCK_MODELS.claude, 'stream the invoice disputes');
    const seen = await collect(out.body!, claudeText);
    expect(seen.error).toMatchObject({ name: 'ModelStreamErrorException', message: 'Response blocked by Higgs policy: resp-block', originalStatusCode: 403 });
    await expectCut(seen, 'stream the invoice disputes');
  });

  it('ConverseStream: redacts a split match and cuts a blocked one with ModelStreamErrorException', async () => {
    const text = (e: { contentBlockDelta?: { delta?: { text?: string } } }): string | null => e.contentBlockDelta?.delta?.text ?? null;
    const redacted = await bedrock.send(new ConverseStreamCommand({ modelId: REDACT_MODELS.nova, messages: [{ role: 'user', content: [{ text: 'stream the customs forms' }] }] }));
    await expectRedacted(await collect(redacted.stream!, text), 'stream the customs forms');
    const cut = await bedrock.send(new ConverseStreamCommand({ modelId: BLOCK_MODELS.nova, messages: [{ role: 'user', content: [{ text: 'stream the freight rates' }] }] }));
    const seen = await collect(cut.stream!, text);
    expect(seen.error).toMatchObject({ name: 'ModelStreamErrorException', message: 'Response blocked by Higgs policy: resp-block' });
    await expectCut(seen, 'stream the freight rates');
  });
});

describe('Gemini streamGenerateContent (@google/genai)', () => {
  it('redacts a match split across chunks', async () => {
    const stream = await gemini.models.generateContentStream({ model: REDACT_MODELS.gemini, contents: 'stream the warehouse audit' });
    await expectRedacted(await collect(stream, (c) => c.text ?? null), 'stream the warehouse audit');
  });

  it('a block cuts the stream and the SDK raises ApiError 403', async () => {
    const stream = await gemini.models.generateContentStream({ model: BLOCK_MODELS.gemini, contents: 'stream the payroll calendar' });
    const seen = await collect(stream, (c) => c.text ?? null);
    expect(seen.error).toMatchObject({ name: 'ApiError', status: 403 });
    expect(seen.error!.message).toContain('Response blocked by Higgs policy: resp-block');
    await expectCut(seen, 'stream the payroll calendar');
  });
});

describe('Cohere v2 chatStream (cohere-ai)', () => {
  type Event = Awaited<ReturnType<CohereClientV2['chatStream']>> extends AsyncIterable<infer E> ? E : never;
  const text = (e: Event): string | null => (e.type === 'content-delta' ? e.delta?.message?.content?.text ?? '' : null);

  it('redacts a match split across content-delta events', async () => {
    const stream = await cohere.chatStream({ model: REDACT_MODELS.cohere, messages: [{ role: 'user', content: 'stream the vendor onboarding' }] });
    await expectRedacted(await collect(stream, text), 'stream the vendor onboarding');
  });

  it('a block ends the stream with message-end, finish reason ERROR and the reason in delta.error (the SDK does not raise)', async () => {
    const stream = await cohere.chatStream({ model: BLOCK_MODELS.cohere, messages: [{ role: 'user', content: 'stream the travel policy' }] });
    let end: Event | null = null;
    const seen = await collect(stream, (e) => {
      if (e.type === 'message-end') end = e;
      return text(e);
    });
    expect(seen.error).toBeNull();
    expect(end).toMatchObject({ type: 'message-end', delta: { finishReason: 'ERROR', error: 'Response blocked by Higgs policy: resp-block' } });
    await expectCut(seen, 'stream the travel policy');
  });
});
