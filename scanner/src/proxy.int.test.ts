import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { IngestBatch, type IngestEvent, type LlmCall, type ScannerPolicy } from '@higgs/schema';
import OpenAI from 'openai';
import { fetch as undiciFetch, ProxyAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from './logger.ts';
import { startScanner, type ScannerHandle } from './scanner.ts';
import { loadOrCreateCa } from './tls/ca.ts';

const SSN = '123-45-6789';
const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const listen = (s: Server | ReturnType<typeof createTcpServer>) => new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const close = (s: { close(cb: () => void): unknown }) => new Promise<void>((r) => { s.close(() => r()); });

interface Seen { path: string; body: string; headers: Record<string, unknown> }
const upstreamSeen: Seen[] = [];
let releaseStream: () => void = () => {};
const ingested: IngestEvent[] = [];
const ingestBodies: string[] = [];

let policy: ScannerPolicy = {
  version: 'v1',
  quarantinedNamespaces: [],
  blockedSessions: [],
  rules: [
    { id: 'rule-block', name: 'No forbidden topics', action: 'block', match: { promptContains: ['forbidden-topic'] }, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null },
    { id: 'rule-redact', name: 'Redact SSNs', action: 'redact', match: { piiTypes: ['ssn'] }, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null },
  ],
};

let dir: string;
let scanner: ScannerHandle;
let upstream: Server;
let tenant: Server;
let echo: ReturnType<typeof createTcpServer>;
let echoPort: number;
let client: OpenAI;
let dispatcher: ProxyAgent;
let impostor: Server;
let impostorHits = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-proxy-'));
  // the "real" provider: TLS with its own CA, answering in the OpenAI wire format
  const providerCa = await loadOrCreateCa(join(dir, 'provider-ca'), 'Test provider CA');
  upstream = createHttpsServer({ SNICallback: (name, cb) => { providerCa.contextFor(name).then((c) => cb(null, c), cb); } }, (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      upstreamSeen.push({ path: req.url ?? '', body, headers: req.headers });
      let json: { stream?: boolean } | null = null;
      try { json = JSON.parse(body) as { stream?: boolean }; } catch { /* answered below */ }
      if (!json) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"We could not parse the JSON body of your request.","type":"invalid_request_error","param":null,"code":null}}');
        return;
      }
      if (json.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\n\n');
        // the rest only after the client has seen the first chunk: a buffering proxy would deadlock here
        new Promise<void>((r) => { releaseStream = r; }).then(() => {
          res.write('data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n');
          res.write('data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}\n\n');
          res.end('data: [DONE]\n\n');
        });
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hi there', refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 },
      }));
    });
  });
  const upstreamPort = await listen(upstream);

  // the tenant side, reduced to what the scanner talks to
  tenant = createHttpServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/ingest') {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        ingestBodies.push(body);
        const batch = IngestBatch.parse(JSON.parse(body));
        ingested.push(...batch.events);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: batch.events.length, duplicates: 0 }));
      });
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/v1/scanners/node-1/policy')) {
      if (req.headers.authorization !== 'Bearer scanner-token') return void res.writeHead(401).end();
      if (req.headers['if-none-match'] === policy.version) return void setTimeout(() => res.writeHead(304).end(), 200);
      res.writeHead(200, { 'content-type': 'application/json', etag: policy.version }).end(JSON.stringify(policy));
      return;
    }
    res.writeHead(404).end();
  });
  const tenantPort = await listen(tenant);

  // an upstream whose certificate comes from a CA the scanner does not trust
  const impostorCa = await loadOrCreateCa(join(dir, 'impostor-ca'), 'Untrusted CA');
  impostor = createHttpsServer({ SNICallback: (name, cb) => { impostorCa.contextFor(name).then((c) => cb(null, c), cb); } }, (_req, res) => {
    impostorHits += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const impostorPort = await listen(impostor);

  const dead = createTcpServer();
  const deadPort = await listen(dead);
  await close(dead);

  echo = createTcpServer((s) => s.pipe(s));
  echoPort = await listen(echo);

  const workloadsFile = join(dir, 'workloads.json');
  writeFileSync(workloadsFile, JSON.stringify({ workloads: [{ namespace: 'support', app: 'support-bot', ips: ['127.0.0.1'], labels: { 'higgs.scan': 'enabled', 'higgs.io/enforce': 'enabled' } },
    { namespace: 'research', app: 'notebook', ips: ['127.0.1.2'], labels: { 'higgs.scan': 'enabled' } },
  ] }));
  scanner = await startScanner({
    scannerId: 'node-1', dataDir: join(dir, 'scanner'), proxyPort: 0, policyPort: 0, tenantUrl: `http://127.0.0.1:${tenantPort}`,
    scannerToken: 'scanner-token', hashSalt: 'test-salt', hostsOverride: { 'api.openai.com': `127.0.0.1:${upstreamPort}`, 'api.mistral.ai': `127.0.0.1:${deadPort}`, 'api.together.xyz': `127.0.0.1:${impostorPort}` },
    upstreamCaPem: [providerCa.certPem], workloadsFile, uploadIntervalMs: 60_000, policyWaitMs: 1000, logger: quiet,
  });
  await scanner.waitForPolicy((p) => p.version === 'v1', 10_000);

  dispatcher = new ProxyAgent({ uri: scanner.proxyUrl, requestTls: { ca: [scanner.caCertPem] } });
  // Node 20's built-in fetch bundles an older undici than the ProxyAgent; the SDK gets undici's own fetch to match
  client = new OpenAI({ apiKey: 'sk-test-not-a-secret', maxRetries: 0, fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher } as never });
});

afterAll(async () => {
  await dispatcher?.close();
  await scanner?.close();
  for (const s of [upstream, tenant, echo, impostor]) if (s) await close(s);
  rmSync(dir, { recursive: true, force: true });
});

async function recordedCalls(): Promise<LlmCall[]> {
  await scanner.flush();
  return ingested.flatMap((e) => (e.kind === 'llm_call' ? [e.event] : []));
}

describe('scanner proxy with the OpenAI SDK', () => {
  it('relays a normal call and records it attributed, parsed and with usage', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'say hi' }], user: 'alice' });
    expect(r.choices[0]?.message.content).toBe('Hi there');
    const call = (await recordedCalls()).find((c) => c.messages[0]?.content === 'say hi');
    expect(call).toMatchObject({
      provider: 'openai', host: 'api.openai.com', parsed: true, model: 'gpt-4o-mini', status: 200, verdict: 'allow',
      response: { content: 'Hi there', finishReason: 'stop' }, usage: { inputTokens: 9, outputTokens: 2 },
      source: { ip: '127.0.0.1', namespace: 'support', app: 'support-bot', mode: 'enforce' },
      attribution: { userId: 'alice', userSource: 'provider_field' },
    });
    expect(upstreamSeen.at(-1)?.headers.host).toBe('api.openai.com');
  });

  it('streams chunk by chunk and records the assembled stream', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'stream please' }], stream: true, stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      releaseStream();
    }
    expect(text).toBe('Hello');
    const call = (await recordedCalls()).find((c) => c.messages[0]?.content === 'stream please');
    expect(call).toMatchObject({ stream: true, response: { content: 'Hello', finishReason: 'stop' }, usage: { inputTokens: 5, outputTokens: 2 } });
  });

  it('blocks a matching call before it reaches the provider, in the provider error shape', async () => {
    const before = upstreamSeen.length;
    const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'tell me about forbidden-topic' }] })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiErr = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiErr.status).toBe(403);
    expect(apiErr.code).toBe('higgs_blocked');
    expect(apiErr.message).toContain('Request blocked by Higgs policy: No forbidden topics');
    const decisionId = apiErr.headers?.get('x-higgs-decision');
    expect(decisionId).toMatch(/^dec_/);
    expect(upstreamSeen.length).toBe(before);
    await scanner.flush();
    const decision = ingested.find((e) => e.kind === 'decision' && e.event.id === decisionId);
    expect(decision?.event).toMatchObject({ ruleId: 'rule-block', action: 'block', primitive: 'inline' });
    expect(scanner.stats().blocked).toBeGreaterThanOrEqual(1);
  });

  it('redacts an SSN before it reaches the provider and never uploads the raw value', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `my ssn is ${SSN}, file it` }] });
    const seen = upstreamSeen.at(-1)!;
    expect(seen.body).toContain('my ssn is [REDACTED:ssn], file it');
    expect(seen.body).not.toContain(SSN);
    const call = (await recordedCalls()).find((c) => c.verdict === 'redact');
    expect(call?.messages[0]?.content).toMatch(/^my ssn is \[SSN:[0-9a-f]{8}\], file it$/);
    expect(call?.detections).toEqual([{ type: 'ssn', field: 'prompt', hash: expect.stringMatching(/^[0-9a-f]{16}$/) }]);
    expect(call?.ruleIds).toEqual(['rule-redact']);
    expect(ingestBodies.join('\n')).not.toContain(SSN);
    expect(ingestBodies.join('\n')).not.toContain('123456789');
  });

  it('decides enforce traffic on the cheap detector pass, yet records names and addresses masked', async () => {
    const prompt = 'My name is Maria Garcia and I live at 42 Elm Street, Springfield.';
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
    // no rule needs names or addresses: nothing held the request up for them, and it went out as written
    expect(JSON.parse(upstreamSeen.at(-1)!.body)).toMatchObject({ messages: [{ content: prompt }] });
    const call = (await recordedCalls()).find((c) => c.messages[0]?.content.startsWith('My name is [PERSON:'));
    expect(call?.messages[0]?.content).toMatch(/^My name is \[PERSON:[0-9a-f]{8}\] and I live at \[ADDRESS:[0-9a-f]{8}\]\.$/);
    expect(call?.detections.map((d) => d.type).sort()).toEqual(['address', 'person']);
    expect(call).toMatchObject({ verdict: 'allow', ruleIds: [], source: { mode: 'enforce' } });
    expect(ingestBodies.join('\n')).not.toContain('Maria Garcia');
  });

  it('runs the full detector pass inline when a rule needs person names', async () => {
    const rules = policy.rules;
    policy = {
      ...policy, version: 'v1-person',
      rules: [...rules, { id: 'rule-person', name: 'No names', action: 'block', match: { piiTypes: ['person'] }, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null }],
    };
    await scanner.waitForPolicy((p) => p.version === 'v1-person', 10_000);
    try {
      const before = upstreamSeen.length;
      const err = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Please ask Dr. John Miller to call back.' }] })
        .then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).message).toContain('Request blocked by Higgs policy: No names');
      expect(upstreamSeen.length).toBe(before);
    } finally {
      // back to the suite's policy, as the tests after this one expect it
      policy = { ...policy, version: 'v1', rules };
      await scanner.waitForPolicy((p) => p.version === 'v1', 10_000);
    }
  });

  it('passes malformed JSON through unchanged and records it as unparsed', async () => {
    const res = await undiciFetch('https://api.openai.com/v1/chat/completions', {
      method: 'POST', body: '{"model": "gpt-4o-mini", "messages": [', headers: { 'content-type': 'application/json' }, dispatcher,
    });
    expect(res.status).toBe(400);
    await res.text();
    expect(upstreamSeen.at(-1)?.body).toBe('{"model": "gpt-4o-mini", "messages": [');
    const call = (await recordedCalls()).find((c) => !c.parsed);
    expect(call).toMatchObject({ parsed: false, status: 400, provider: 'openai', messages: [] });
  });

  it('tunnels a CONNECT to a non-AI host byte for byte', async () => {
    const tunnels = scanner.stats().tunnels;
    const proxy = new URL(scanner.proxyUrl);
    const reply = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: `127.0.0.1:${echoPort}` });
      req.on('connect', (res, socket) => {
        expect(res.statusCode).toBe(200);
        const payload = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x0a]);
        socket.write(payload);
        socket.once('data', (d: Buffer) => {
          socket.destroy();
          resolve(d.toString('hex'));
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(reply).toBe('16030100ff000a');
    expect(scanner.stats().tunnels).toBe(tunnels + 1);
  });

  it('answers 502 with a clear body when the upstream is unreachable', async () => {
    const mistral = new OpenAI({
      apiKey: 'sk-test-not-a-secret', baseURL: 'https://api.mistral.ai/v1', maxRetries: 0,
      fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher } as never,
    });
    const err = await mistral.chat.completions.create({ model: 'mistral-small', messages: [{ role: 'user', content: 'anyone there?' }] })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((err as Error).message).toContain('could not reach api.mistral.ai:443');
    const call = (await recordedCalls()).find((c) => c.host === 'api.mistral.ai');
    expect(call).toMatchObject({ provider: 'mistral', status: 502, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('refuses an upstream whose certificate the scanner does not trust, and relays nothing to it', async () => {
    const together = new OpenAI({
      apiKey: 'sk-test-not-a-secret', baseURL: 'https://api.together.xyz/v1', maxRetries: 0,
      fetch: undiciFetch as unknown as typeof fetch, fetchOptions: { dispatcher } as never,
    });
    const err = await together.chat.completions.create({ model: 'meta-llama/Llama-3-8b', messages: [{ role: 'user', content: 'hello' }] })
      .then(() => null, (e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(impostorHits).toBe(0);
  });

  it('serves the localhost policy endpoint', async () => {
    const ok = await undiciFetch(`${scanner.policyUrl}?src_ip=127.0.0.1`);
    expect(await ok.json()).toEqual({
      src_ip: '127.0.0.1', workload: { namespace: 'support', app: 'support-bot', mode: 'enforce' }, quarantined: false, verdict: 'allow', policyVersion: 'v1',
    });
    const bad = await undiciFetch(`${scanner.policyUrl}?src_ip=not-an-ip`);
    expect(bad.status).toBe(400);
  });
});

/** A chat completion sent through the proxy from a chosen loopback source address (a second "pod"). */
async function callFrom(localAddress: string, content: string): Promise<{ status: number; body: string }> {
  const proxy = new URL(scanner.proxyUrl);
  const socket = await new Promise<import('node:net').Socket>((resolve, reject) => {
    const req = httpRequest({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: 'api.openai.com:443', localAddress });
    req.on('connect', (_res, s) => resolve(s));
    req.on('error', reject);
    req.end();
  });
  const tlsSocket = tlsConnect({ socket, servername: 'api.openai.com', ca: [scanner.caCertPem] });
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: 'api.openai.com', path: '/v1/chat/completions', method: 'POST', createConnection: () => tlsSocket,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: 'Bearer sk-test' },
    }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => {
        tlsSocket.destroy();
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('enforcement follows the workload label and the policy', () => {
  it('never alters observe-mode traffic, but records the rule that would have matched', async () => {
    const before = upstreamSeen.length;
    const r = await callFrom('127.0.1.2', 'observe this forbidden-topic');
    expect(r.status).toBe(200);
    expect(upstreamSeen.length).toBe(before + 1);
    const call = (await recordedCalls()).find((c) => c.messages[0]?.content === 'observe this forbidden-topic');
    expect(call).toMatchObject({ verdict: 'alert', ruleIds: ['rule-block'], source: { namespace: 'research', mode: 'observe' } });
    const decision = ingested.find((e) => e.kind === 'decision' && e.event.callId === call?.id);
    expect(decision?.event).toMatchObject({ ruleId: 'rule-block', action: 'alert', primitive: 'inline' });
  });

  it('applies a new policy version without restart: a quarantined namespace is refused', async () => {
    policy = { ...policy, version: 'v2', quarantinedNamespaces: ['research'] };
    await scanner.waitForPolicy((p) => p.version === 'v2', 10_000);
    const before = upstreamSeen.length;
    const r = await callFrom('127.0.1.2', 'hello');
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'higgs_blocked', type: 'higgs_policy_violation' } });
    expect(upstreamSeen.length).toBe(before);
    await scanner.flush();
    expect(ingested.some((e) => e.kind === 'decision' && e.event.primitive === 'quarantine' && e.event.source.namespace === 'research')).toBe(true);
    const verdict = await (await undiciFetch(`${scanner.policyUrl}?src_ip=127.0.1.2`)).json();
    expect(verdict).toMatchObject({ quarantined: true, verdict: 'block', policyVersion: 'v2' });
  });
});
