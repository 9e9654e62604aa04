/**
 * Response rules on the streams of Bedrock (both AWS event-stream actions),
 * Cohere and Gemini, through the scanner's MITM proxy with each official SDK
 * against the demo mock upstreams: a redact rule whose match is split across
 * stream events is redacted before the SDK sees it, and a block rule cuts the
 * stream mid-way with the provider's own error framing — what each SDK then
 * surfaces is what scanner/README.md says ("What the client sees when a
 * stream is cut").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BedrockRuntimeClient, ConverseStreamCommand, InvokeModelWithResponseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { GoogleGenAI } from '@google/genai';
import { startMockUpstreams, type MockUpstreams } from '@higgs/demo';
import { startScanner, type ScannerHandle } from '@higgs/scanner';
import { type IngestEvent, type LlmCall, type ScannerPolicy } from '@higgs/schema';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { CohereClientV2 } from 'cohere-ai';
import { fetch as undiciFetch, ProxyAgent } from 'undici';
import { ConnectProxyAgent } from '../testing/connect-proxy-agent.ts';
import { startRecordingTenant, type RecordingTenant } from '../testing/recording-tenant.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The mock's reply is ~42 words streamed in 4 (Bedrock, Gemini) or 5 (Cohere)
// deltas cut at word boundaries, so at most 11 words a delta: this 15-word
// sentence of every reply always spans at least two deltas.
const SPLIT = 'the relevant settings, and confirm the change took effect. If anything still looks wrong';
const CUT = 'walk you through';
// the rules are scoped by model, so one policy serves the redact and the block calls
const REDACT_MODELS = { claude: 'anthropic.claude-3-5-haiku-20241022-v1:0', titan: 'amazon.titan-text-express-v1', nova: 'amazon.nova-lite-v1:0', gemini: 'gemini-2.5-flash', cohere: 'command-a-03-2025' };
const BLOCK_MODELS = { claude: 'anthropic.claude-3-haiku-20240307-v1:0', nova: 'amazon.nova-micro-v1:0', gemini: 'gemini-2.5-pro', cohere: 'command-r-plus-08-2024' };
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const rule = (id: string, action: 'block' | 'redact', match: Record<string, unknown>) => ({
  id, name: id, action, match, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null,
});
const policy: ScannerPolicy = {
  version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
  rules: [
    rule('resp-redact', 'redact', { responseContains: [SPLIT], models: Object.values(REDACT_MODELS) }),
    rule('resp-block', 'block', { responseContains: [CUT], models: Object.values(BLOCK_MODELS) }),
  ],
};

let dir: string;
let tenant: RecordingTenant;
let upstreams: MockUpstreams;
let scanner: ScannerHandle;
let dispatcher: ProxyAgent;
let bedrock: BedrockRuntimeClient;
let gemini: GoogleGenAI;
let cohere: CohereClientV2;
let ingested: IngestEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-response-rules-'));
  tenant = await startRecordingTenant({ scannerId: 'node-1', policy });
  ingested = tenant.ingested;
  upstreams = await startMockUpstreams({ chunkDelayMs: 1 });
  const target = `127.0.0.1:${upstreams.port}`;
  const workloadsFile = join(dir, 'workloads.json');
  writeFileSync(workloadsFile, JSON.stringify({ workloads: [
    { namespace: 'support', app: 'support-bot', ips: ['127.0.0.1'], labels: { 'higgs.scan': 'enabled', 'higgs.io/enforce': 'enabled' } },
  ] }));
  scanner = await startScanner({
    scannerId: 'node-1', dataDir: join(dir, 'scanner'), proxyPort: 0, policyPort: 0,
    tenantUrl: tenant.url, scannerToken: 'scanner-token', hashSalt: 'salt',
    hostsOverride: Object.fromEntries(['bedrock-runtime.us-east-1.amazonaws.com', 'generativelanguage.googleapis.com', 'api.cohere.com'].map((h) => [h, target])),
    upstreamCaPem: [upstreams.caCertPem], workloadsFile, uploadIntervalMs: 60_000, policyWaitMs: 1000, logger: quiet,
  });
  await scanner.waitForPolicy((p) => p.version === 'v1', 10_000);
  bedrock = new BedrockRuntimeClient({
    region: 'us-east-1',
    // static, fake: the mock checks a SigV4 header is present, nothing leaves loopback
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new ConnectProxyAgent(new URL(scanner.proxyUrl), { ca: scanner.caCertPem }) }),
  });
  dispatcher = new ProxyAgent({ uri: scanner.proxyUrl, requestTls: { ca: [scanner.caCertPem] } });
  // Node 20's global fetch bundles an older undici than ProxyAgent: the SDKs get undici's own fetch with the dispatcher
  const proxiedFetch = ((input: Parameters<typeof fetch>[0], init?: RequestInit) => undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
  gemini = new GoogleGenAI({ apiKey: 'AIza-test-not-a-key', httpOptions: { fetch: proxiedFetch, retryOptions: { attempts: 1 } } as never });
  cohere = new CohereClientV2({ token: 'cohere-test-key', fetch: proxiedFetch, maxRetries: 0 });
});

afterAll(async () => {
  bedrock?.destroy();
  await dispatcher?.close();
  await scanner?.close();
  await upstreams?.close();
  await tenant?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The call is recorded when the proxy sees the upstream end, which can come just after the SDK stopped reading: poll briefly. */
async function lastCall(prompt: string): Promise<LlmCall> {
  for (let attempt = 0; attempt < 50; attempt++) {
    await scanner.flush();
    const call = ingested.flatMap((e) => (e.kind === 'llm_call' ? [e.event] : [])).filter((c) => c.messages.some((m) => m.content.includes(prompt))).at(-1);
    if (call) return call;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no call recorded for "${prompt}"`);
}
const decisionsOf = (callId: string) => ingested.flatMap((e) => (e.kind === 'decision' && e.event.callId === callId ? [e.event] : []));
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
