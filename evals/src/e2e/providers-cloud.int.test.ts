/**
 * AWS Bedrock and Gemini through the scanner's MITM proxy with their official
 * SDKs (`@aws-sdk/client-bedrock-runtime`, `@google/genai`) against the demo
 * mock upstreams: a normal call, a streamed call, a blocked call and a
 * redacted call each, asserting the LlmCall the scanner recorded.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, InvokeModelCommand, InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { GoogleGenAI } from '@google/genai';
import { startMockUpstreams, type MockUpstreams } from '@higgs/demo';
import { startScanner, type ScannerHandle } from '@higgs/scanner';
import { type IngestEvent, type LlmCall, type ScannerPolicy } from '@higgs/schema';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { fetch as undiciFetch, ProxyAgent } from 'undici';
import { ConnectProxyAgent } from '../testing/connect-proxy-agent.ts';
import { startRecordingTenant, type RecordingTenant } from '../testing/recording-tenant.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SSN = '536-22-8841';
const CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const TITAN = 'amazon.titan-text-express-v1';
const NOVA = 'amazon.nova-lite-v1:0';
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const rule = (id: string, action: 'block' | 'redact', match: Record<string, unknown>) => ({
  id, name: id, action, match, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null,
});
const policy: ScannerPolicy = {
  version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
  rules: [rule('no-forbidden', 'block', { promptContains: ['forbidden-topic'] }), rule('redact-ssn', 'redact', { piiTypes: ['ssn'] })],
};

/**
 * An https.Agent that reaches every host through the proxy with CONNECT, as
 * `HTTPS_PROXY` support would: the AWS SDK's Node handler takes an agent, not a proxy URL.
 */
let dir: string;
let tenant: RecordingTenant;
let upstreams: MockUpstreams;
let scanner: ScannerHandle;
let dispatcher: ProxyAgent;
let bedrock: BedrockRuntimeClient;
let gemini: GoogleGenAI;
let ingested: IngestEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-cloud-sdks-'));
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
    hostsOverride: { 'bedrock-runtime.us-east-1.amazonaws.com': target, 'generativelanguage.googleapis.com': target },
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
  gemini = new GoogleGenAI({
    apiKey: 'AIza-test-not-a-key',
    httpOptions: {
      // Node 20's global fetch bundles an older undici than ProxyAgent: use undici's own fetch with the dispatcher
      fetch: ((input: Parameters<typeof fetch>[0], init?: RequestInit) => undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch,
      retryOptions: { attempts: 1 },
    },
  });
});

afterAll(async () => {
  bedrock?.destroy();
  await dispatcher?.close();
  await scanner?.close();
  await upstreams?.close();
  await tenant?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function lastCall(predicate: (c: LlmCall) => boolean): Promise<LlmCall> {
  await scanner.flush();
  const call = ingested.flatMap((e) => (e.kind === 'llm_call' ? [e.event] : [])).filter(predicate).at(-1);
  if (!call) throw new Error('no matching call was recorded');
  return call;
}
const promptIs = (text: string) => (c: LlmCall) => c.messages.some((m) => m.content.includes(text));
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
