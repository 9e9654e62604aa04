import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { EnforcementDecision, IngestEvent, LlmCall, Rule, ScannerPolicy } from '@higgs/schema';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../logger.ts';
import { compilePolicy, type CompiledPolicy } from '../rules/index.ts';
import { newStats, type ScannerStats } from '../stats.ts';
import { loadOrCreateCa } from '../tls/ca.ts';
import type { Workload } from '../workloads/index.ts';
import { DEFAULT_ENFORCEMENT, type EnforcementSettings } from './enforcement.ts';
import type { InspectContext } from './exchange.ts';
import { createInspectionOffload, type InspectionOffload } from './inspect-offload.ts';
import { startProxy, type Proxy } from './index.ts';
import { createUpstream, type Upstream } from './upstream.ts';

const warnings: string[] = [];
const logger: Logger = { info: () => {}, warn: (_o, msg) => { warnings.push(msg); }, error: () => {} };
const rule = (id: string, action: Rule['action'], match: Rule['match']): Rule => ({ id, name: `rule ${id}`, action, match, enabled: true, createdBy: 't', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null });
const POLICY: ScannerPolicy = {
  version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
  rules: [
    rule('req-block', 'block', { promptContains: ['forbidden-topic'] }),
    rule('resp-block', 'block', { responseContains: ['launch codes'] }),
    rule('resp-redact', 'redact', { responsePattern: 'sk-live-[a-z0-9]{6,}' }),
  ],
};

// the provider: answers by what the prompt asks for, in the OpenAI or Anthropic wire format
let upstreamBodies: string[] = [];
function provider(req: { url?: string; headers: IncomingHttpHeaders }, body: string, res: import('node:http').ServerResponse): void {
  upstreamBodies.push(body);
  if (req.url === '/mcp') {
    // an MCP server: answers every JSON-RPC request with a text result
    const rpc = JSON.parse(body) as { id: number };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result: { content: [{ type: 'text', text: 'done' }], isError: false } }));
    return;
  }
  let j: { stream?: boolean; messages: Array<{ content: string }> };
  try {
    j = JSON.parse(body) as typeof j;
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"We could not parse the JSON body of your request.","type":"invalid_request_error","param":null,"code":null}}');
    return;
  }
  const answer = `answer to ${j.messages.at(-1)!.content}`;
  const anthropic = req.url!.startsWith('/v1/messages');
  if (j.stream && anthropic) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('event: message_start\ndata: {"type":"message_start","message":{"id":"m1","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":3,"output_tokens":0}}}\n\n');
    for (const piece of answer.match(/.{1,5}/gs)!) res.write(`event: content_block_delta\ndata: ${JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } })}\n\n`);
    res.end('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    return;
  }
  if (j.stream) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const piece of answer.match(/.{1,4}/gs)!) res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })}\n\n`);
    res.end('data: [DONE]\n\n');
    return;
  }
  if (answer.includes('a deep answer')) {
    // 200 000 levels: JSON.parse takes them, a recursive walk of the result overflows the stack
    res.writeHead(200, { 'content-type': 'application/json' }).end(`{"id":"x","object":"chat.completion","choices":[],"n":${'['.repeat(200_000)}"launch codes"${']'.repeat(200_000)}}`);
    return;
  }
  if (answer.includes('a compressed flood')) {
    // 64 MiB of JSON whitespace in ~65 KB of gzip
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(gzipSync(Buffer.concat([Buffer.from('{"id":"x","object":"chat.completion","choices":[]'), Buffer.alloc(64 * 1024 * 1024, 0x20), Buffer.from('}')])));
    return;
  }
  const payload = Buffer.from(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-x', choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }] }));
  if (req.headers['accept-encoding'] === 'gzip') res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(payload));
  else res.writeHead(200, { 'content-type': 'application/json' }).end(payload);
}

let dir: string;
let upstreamServer: Server;
let upstream: Upstream;
let proxy: Proxy;
let proxyPort: number;
let recorded: IngestEvent[] = [];
let stats: ScannerStats;
let workload: Workload;
let policy: () => CompiledPolicy | null;
let enforcement: EnforcementSettings;
let detectors: boolean;
let offload: InspectionOffload | undefined;
const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-enforce-'));
  upstreamServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      provider(req, (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'), res);
    });
  });
  await new Promise<void>((r) => upstreamServer.listen(0, '127.0.0.1', () => r()));
  const at = `127.0.0.1:${(upstreamServer.address() as AddressInfo).port}`;
  upstream = createUpstream({ 'api.openai.com': at, 'api.anthropic.com': at, 'mcp.internal': at }, []);
  const ctx: InspectContext = {
    scannerId: 'node-1', hashSalt: 'salt-for-tests', identityHeader: 'x-user-id',
    workloads: { resolve: () => workload, close: () => {} },
    policy: () => policy(), record: (e) => recorded.push(e), upstream, logger,
    get stats() { return stats; },
    get enforcement() { return enforcement; },
    get detectors() { return detectors; },
    get offload() { return offload; },
  };
  proxy = await startProxy({ host: '127.0.0.1', port: 0, ca: await loadOrCreateCa(join(dir, 'ca'), 'test'), isAiHost: (h) => h.startsWith('api.'), isMcpHost: (h) => h === 'mcp.internal', inspect: ctx, logger });
  proxyPort = Number(new URL(proxy.url).port);
});

afterAll(async () => {
  keepAlive.destroy();
  await proxy?.close();
  upstream?.close();
  await new Promise<void>((r) => upstreamServer?.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  recorded = [];
  upstreamBodies = [];
  warnings.length = 0;
  stats = newStats();
  workload = { namespace: 'support', app: 'bot', mode: 'enforce' };
  const compiled = compilePolicy(POLICY);
  policy = () => compiled;
  enforcement = DEFAULT_ENFORCEMENT;
  detectors = true;
  offload = undefined;
});

interface Reply { status: number; headers: IncomingHttpHeaders; body: string }
function send(url: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, method: 'POST', path: url, agent: keepAlive, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
const chat = (content: string, extra: Record<string, unknown> = {}): string => JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content }], ...extra });
const OPENAI = 'http://api.openai.com/v1/chat/completions';
const ANTHROPIC = 'http://api.anthropic.com/v1/messages';
async function settled(): Promise<{ calls: LlmCall[]; decisions: EnforcementDecision[] }> {
  // the call is recorded right after the response ends
  for (let i = 0; i < 50 && !recorded.some((e) => e.kind === 'llm_call'); i++) await new Promise((r) => setTimeout(r, 10));
  return { calls: recorded.flatMap((e) => (e.kind === 'llm_call' ? [e.event] : [])), decisions: recorded.flatMap((e) => (e.kind === 'decision' ? [e.event] : [])) };
}

describe('response rules through the proxy', () => {
  it('redacts a non-streamed answer before the client sees it, recording a hash of the match', async () => {
    const r = await send(OPENAI, chat('give me sk-live-abc123xyz please'));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).choices[0].message.content).toBe('answer to give me [REDACTED] please');
    const { calls, decisions } = await settled();
    expect(calls[0]).toMatchObject({ verdict: 'redact', ruleIds: ['resp-redact'], response: { content: 'answer to give me [REDACTED] please' } });
    expect(decisions).toMatchObject([{ ruleId: 'resp-redact', action: 'redact', matchedField: 'response', matchedHash: expect.stringMatching(/^[0-9a-f]{16}$/) }]);
    expect(JSON.stringify(decisions)).not.toContain('sk-live');
  });

  it('replaces a blocked non-streamed answer with the provider-shaped refusal', async () => {
    const r = await send(OPENAI, chat('the launch codes'));
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toMatchObject({ code: 'higgs_blocked', message: expect.stringContaining('rule resp-block') });
    expect(r.body).not.toContain('launch codes');
    const { calls, decisions } = await settled();
    expect(calls[0]).toMatchObject({ status: 403, verdict: 'block', ruleIds: ['resp-block'] });
    expect(decisions[0]).toMatchObject({ id: r.headers['x-higgs-decision'], ruleId: 'resp-block', action: 'block' });
  });

  it('decodes a gzip answer for inspection and sends it redacted, identity-encoded', async () => {
    const r = await send(OPENAI, chat('key sk-live-zz99zz99'), { 'accept-encoding': 'gzip' });
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(r.body).choices[0].message.content).toBe('answer to key [REDACTED]');
  });

  it('cuts an OpenAI stream with an error data line, never sending the matched text', async () => {
    const r = await send(OPENAI, chat('recite the launch codes now', { stream: true }));
    expect(r.status).toBe(200);
    expect(r.body).not.toContain('codes');
    const lines = r.body.trim().split('\n\n');
    expect(JSON.parse(lines.at(-1)!.slice('data: '.length))).toMatchObject({ error: { code: 'higgs_blocked', type: 'higgs_policy_block' } });
    expect(r.body).not.toContain('[DONE]');
    const { calls } = await settled();
    expect(calls[0]).toMatchObject({ verdict: 'block', stream: true, error: expect.stringContaining('resp-block') });
  });

  it('cuts an Anthropic stream with an error event, and redacts a streamed match split over deltas', async () => {
    const blocked = await send(ANTHROPIC, JSON.stringify({ model: 'claude-x', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'the launch codes' }] }));
    expect(blocked.body).toMatch(/event: error\ndata: \{"type":"error","error":\{"type":"permission_error","message":"Response blocked by Higgs policy: rule resp-block"\}\}\n\n$/);
    recorded = [];
    const redacted = await send(ANTHROPIC, JSON.stringify({ model: 'claude-x', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'sk-live-abcdef99 ok' }] }));
    const text = redacted.body.split('\n\n').flatMap((e) => { const d = /data: (.*)/.exec(e)?.[1]; return d ? [(JSON.parse(d) as { delta?: { text?: string } }).delta?.text ?? ''] : []; }).join('');
    expect(text).toBe('answer to [REDACTED] ok');
    expect(redacted.body).toContain('event: message_stop');
  });

  it('on observe traffic never alters the answer and records response matches as alerts', async () => {
    workload = { namespace: 'support', app: 'bot', mode: 'observe' };
    const r = await send(OPENAI, chat('the launch codes'));
    expect(JSON.parse(r.body).choices[0].message.content).toBe('answer to the launch codes');
    const { calls, decisions } = await settled();
    expect(calls[0]).toMatchObject({ verdict: 'alert', ruleIds: ['resp-block'] });
    expect(decisions).toMatchObject([{ ruleId: 'resp-block', action: 'alert' }]);
  });
});

describe('observe traffic is never held up by inspection', () => {
  it('is forwarded before detection and rules run, and still recorded with its detections and alerts', async () => {
    const order: string[] = [];
    const real = compilePolicy(POLICY);
    policy = () => ({ ...real, decide: (input, opts) => { order.push('decide'); return real.decide(input, opts); } });
    const sendUpstream = upstream.send;
    upstream.send = (p) => { order.push('forward'); return sendUpstream(p); };
    try {
      workload = { namespace: 'support', app: 'bot', mode: 'observe' };
      const observed = await send(OPENAI, chat('forbidden-topic, mail me at jane.doe@example.com'));
      expect(observed.status).toBe(200);
      expect(order).toEqual(['forward', 'decide']);
      const { calls, decisions } = await settled();
      expect(calls[0]).toMatchObject({ verdict: 'alert', ruleIds: ['req-block'], detections: expect.arrayContaining([expect.objectContaining({ type: 'email', field: 'prompt' })]) });
      expect(decisions).toMatchObject([{ ruleId: 'req-block', action: 'alert' }]);

      // enforce traffic keeps inline inspection: decided before a byte goes upstream
      order.length = 0;
      recorded = [];
      workload = { namespace: 'support', app: 'bot', mode: 'enforce' };
      expect((await send(OPENAI, chat('hello there'))).status).toBe(200);
      expect(order).toEqual(['decide', 'forward']);
    } finally {
      upstream.send = sendUpstream;
    }
  });

  it('forwards an observe MCP tools/call before deciding it; enforce decides first', async () => {
    const order: string[] = [];
    const real = compilePolicy(POLICY);
    policy = () => ({ ...real, decide: (input, opts) => { order.push('decide'); return real.decide(input, opts); } });
    const target = upstream.target;
    upstream.target = (host, port) => { order.push('forward'); return target(host, port); };
    const call = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'lookup', arguments: { q: 'forbidden-topic' } } });
    try {
      workload = { namespace: 'support', app: 'bot', mode: 'observe' };
      const observed = await send('http://mcp.internal/mcp', call(1), { accept: 'application/json, text/event-stream' });
      expect(JSON.parse(observed.body)).toMatchObject({ id: 1, result: { content: [{ text: 'done' }] } });
      expect(order).toEqual(['forward', 'decide']);
      for (let i = 0; i < 50 && !recorded.some((e) => e.kind === 'tool_call'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(recorded.find((e) => e.kind === 'tool_call')?.event).toMatchObject({ verdict: 'alert', ruleIds: ['req-block'] });

      order.length = 0;
      workload = { namespace: 'support', app: 'bot', mode: 'enforce' };
      const refused = await send('http://mcp.internal/mcp', call(2), { accept: 'application/json, text/event-stream' });
      expect(JSON.parse(refused.body)).toMatchObject({ id: 2, result: { isError: true } });
      expect(order).toEqual(['decide']);
    } finally {
      upstream.target = target;
    }
  });

  it('counts a fail-open of observe traffic and records it uninspected, after forwarding', async () => {
    const real = compilePolicy(POLICY);
    policy = () => ({ ...real, decide: () => { throw new Error('evaluation fault'); } });
    workload = { namespace: 'support', app: 'bot', mode: 'observe' };
    expect((await send(OPENAI, chat('hello'))).status).toBe(200);
    const { calls, decisions } = await settled();
    expect(stats.failOpen).toBe(1);
    expect(calls[0]).toMatchObject({ uninspected: true, verdict: 'allow' });
    expect(decisions).toMatchObject([{ action: 'alert', matchedField: 'fail_open:error' }]);
  });
});

describe('large requests are inspected off the event loop', () => {
  const filler = (chars: number) => 'Please summarise the quarterly figures for the board, line by line. '.repeat(Math.ceil(chars / 68)).slice(0, chars);
  /** like send(), on a connection of its own, resolving with when the answer ended */
  const timed = (body: string): Promise<Reply & { ms: number }> => {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxyPort, method: 'POST', path: OPENAI, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  };

  it('decides enforce traffic on the worker\'s detections before forwarding, and records observe traffic masked by its full pass', async () => {
    offload = createInspectionOffload({ minChars: 10_000 });
    const compiled = compilePolicy({ ...POLICY, rules: [...POLICY.rules, rule('no-mail', 'block', { piiTypes: ['email'] })] });
    policy = () => compiled;
    try {
      const prompt = `${filler(20_000)} Write to Maria Schneider at maria.schneider@example.com.`;
      const blocked = await send(OPENAI, chat(prompt));
      expect(blocked.status).toBe(403);
      expect(JSON.parse(blocked.body)).toMatchObject({ error: { message: 'Request blocked by Higgs policy: rule no-mail' } });
      expect(upstreamBodies).toEqual([]);

      recorded = [];
      workload = { namespace: 'support', app: 'bot', mode: 'observe' };
      expect((await send(OPENAI, chat(prompt))).status).toBe(200);
      const { calls, decisions } = await settled();
      expect(calls[0]).toMatchObject({ verdict: 'alert', ruleIds: ['no-mail'], detections: expect.arrayContaining([expect.objectContaining({ type: 'email', field: 'prompt' })]) });
      expect(calls[0]!.messages[0]!.content).toMatch(/Write to \[PERSON:[0-9a-f]{8}\] at \[EMAIL:[0-9a-f]{8}\]\.$/);
      expect(decisions).toMatchObject([{ ruleId: 'no-mail', action: 'alert' }]);
    } finally {
      await offload.close();
    }
  });

  it('past its queue bound handles a large request as one whose detectors failed: fail mode, recorded uninspected, without its text', async () => {
    offload = createInspectionOffload({ minChars: 1_000, maxPendingChars: 5_000 });
    try {
      const prompt = `${filler(20_000)} mail maria.schneider@example.com`;
      // no rule needs detections: it goes through, flagged
      expect((await send(OPENAI, chat(prompt))).status).toBe(200);
      const { calls } = await settled();
      expect(calls).toMatchObject([{ uninspected: true, messages: [] }]);
      // (the mock answer echoes the prompt: the answer is still scanned)
      expect(calls[0]!.detections.filter((d) => d.field !== 'response')).toEqual([]);
      expect(warnings).toEqual([]);

      // a rule that needs them fails by its class's mode: closed by default
      recorded = [];
      const compiled = compilePolicy({ ...POLICY, rules: [rule('no-mail', 'block', { piiTypes: ['email'] })] });
      policy = () => compiled;
      const refused = await send(OPENAI, chat(prompt));
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ error: { message: expect.stringContaining('no-mail could not be evaluated') } });
    } finally {
      await offload.close();
    }
  });

  it('calls no provider for a client that left while its large request was inspected, and records the call', async () => {
    offload = createInspectionOffload({ minChars: 10_000 });
    try {
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port: proxyPort, method: 'POST', path: OPENAI, agent: false, headers: { 'content-type': 'application/json' } });
        req.on('error', () => resolve());
        // ~2 MB dense with PII: read by the proxy within milliseconds, inspected for hundreds of them
        const dense = 'Ask Maria Schneider (maria.schneider@example.com, +49 30 1234567) about 221B Baker Street. '.repeat(22_000);
        req.end(chat(dense), () => setTimeout(() => { req.destroy(); resolve(); }, 100));
      });
      for (let i = 0; i < 200 && !recorded.some((e) => e.kind === 'llm_call'); i++) await new Promise((r) => setTimeout(r, 50));
      const { calls } = await settled();
      expect(calls).toMatchObject([{ status: 0, error: 'client disconnected before the request was forwarded', detections: expect.arrayContaining([expect.objectContaining({ type: 'email' })]) }]);
      expect(upstreamBodies).toEqual([]);
    } finally {
      await offload.close();
    }
  });

  it('answers a small call while a large one is still being inspected', async () => {
    offload = createInspectionOffload();
    try {
      const dense = 'Ask Maria Schneider (maria.schneider@example.com, +49 30 1234567) about 221B Baker Street. '.repeat(22_000);
      const large = timed(chat(dense));
      await new Promise((r) => setTimeout(r, 50));
      const small = await timed(chat('hello there'));
      const big = await large;
      expect([small.status, big.status]).toEqual([200, 200]);
      // on the event loop the small call would wait for the whole of the large one's inspection
      expect(small.ms).toBeLessThan(big.ms / 2);
      const { calls } = await settled();
      expect(calls.map((c) => c.messages[0]!.content.length > 1_000_000)).toContain(true);
    } finally {
      await offload.close();
    }
  });
});

describe('failure modes and limits', () => {
  const broken = (): CompiledPolicy => {
    const real = compilePolicy(POLICY);
    return { ...real, decide: () => { throw new Error('evaluation fault'); } };
  };

  it('denies enforce traffic when the policy cannot be evaluated (fail closed by default)', async () => {
    policy = broken;
    const r = await send(OPENAI, chat('hello'));
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error.message).toContain('could not be evaluated');
    expect(upstreamBodies).toEqual([]);
    expect(stats.failClosed).toBe(1);
  });

  it('lets it through when the class fails open: counted, recorded uninspected, alerted and logged', async () => {
    policy = broken;
    enforcement = { ...DEFAULT_ENFORCEMENT, failModes: { ...DEFAULT_ENFORCEMENT.failModes, content: 'open' } };
    const r = await send(OPENAI, chat('hello'));
    expect(r.status).toBe(200);
    const { calls, decisions } = await settled();
    expect(stats.failOpen).toBe(1);
    expect(calls[0]).toMatchObject({ uninspected: true, verdict: 'allow' });
    expect(decisions).toMatchObject([{ action: 'alert', matchedField: 'fail_open:error' }]);
    expect(warnings).toContain('rule not evaluated: failing open');
  });

  it('fails the rules of a class whose evaluation runs past its budget', async () => {
    enforcement = { ...DEFAULT_ENFORCEMENT, evaluationBudgetUs: 0 };
    const r = await send(OPENAI, chat('forbidden-topic'));
    expect(r.status).toBe(403);
    const { decisions } = await settled();
    expect(decisions[0]).toMatchObject({ ruleId: 'req-block', matchedField: 'fail_closed:timeout' });
  });

  it('refuses an over-limit body on enforce with 413, passes it uninspected on observe', async () => {
    enforcement = { ...DEFAULT_ENFORCEMENT, maxBodyBytes: 1024 };
    const big = chat(`forbidden-topic ${'x'.repeat(2000)}`);
    const refused = await send(OPENAI, big);
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body).error.message).toContain('inspection limit');
    expect(upstreamBodies).toEqual([]);
    workload = { namespace: 'support', app: 'bot', mode: 'observe' };
    recorded = [];
    const passed = await send(OPENAI, big);
    expect(passed.status).toBe(200);
    const { calls } = await settled();
    expect(calls[0]).toMatchObject({ parsed: false, uninspected: true, status: 200 });
  });

  it('treats a compressed body that decodes past the limit as over it: 413 on enforce, uninspected on observe, inflated no further', async () => {
    enforcement = { ...DEFAULT_ENFORCEMENT, maxBodyBytes: 64 * 1024 };
    // 64 MiB of JSON whitespace in ~65 KB of gzip: under the limit as sent, a thousand times over it decoded
    const bomb = gzipSync(Buffer.concat([Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"forbidden-topic"}]'), Buffer.alloc(64 * 1024 * 1024, 0x20), Buffer.from('}')]));
    expect(bomb.length).toBeLessThan(64 * 1024);
    // inflated whole, it would parse and meet the forbidden-topic rule (403): the 413 says it stopped at the limit
    const refused = await send(OPENAI, bomb, { 'content-encoding': 'gzip' });
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body).error.message).toContain('decodes to more than 65536 bytes');
    expect(upstreamBodies).toEqual([]);
    workload = { namespace: 'support', app: 'bot', mode: 'observe' };
    recorded = [];
    const passed = await send(OPENAI, gzipSync(Buffer.concat([Buffer.from(chat('hello')), Buffer.alloc(256 * 1024, 0x20)])), { 'content-encoding': 'gzip' });
    expect(passed.status).toBe(200);
    const { calls, decisions } = await settled();
    expect(calls[0]).toMatchObject({ parsed: false, uninspected: true });
    expect(decisions).toMatchObject([{ action: 'alert', matchedField: 'body_size' }]);
  });

  it('answers 502 to a buffered answer over the limit as soon as it passes it, and reads no further: a compressed flood is not inflated whole', async () => {
    enforcement = { ...DEFAULT_ENFORCEMENT, maxBodyBytes: 64 * 1024 };
    const r = await send(OPENAI, chat('send a compressed flood'));
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body).error.code).toBe('response_too_large');
    const { calls } = await settled();
    expect(calls[0]).toMatchObject({ status: 502, uninspected: true, error: 'response over the 65536-byte limit (decoded)' });
  });

  it('refuses an answer nested deeper than it can walk (the response rules fail closed), and lives on', async () => {
    const r = await send(OPENAI, chat('send a deep answer'));
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body).error.code).toBe('response_uninspectable');
    const { calls } = await settled();
    expect(calls[0]).toMatchObject({ status: 502, uninspected: true, error: 'response JSON nested deeper than 512 levels' });
    expect((await send(OPENAI, chat('plain question'))).status).toBe(200);
  });

  it('inspects a gzip request body, and passes a malformed one through recorded as unparsed', async () => {
    const r = await send(OPENAI, gzipSync(chat('about forbidden-topic')), { 'content-encoding': 'gzip' });
    expect(r.status).toBe(403);
    recorded = [];
    const bad = await send(OPENAI, '{"model": "gpt-x", "messages": [', {});
    expect(bad.status).toBe(400); // the provider's own answer to a body it cannot parse, relayed
    const { calls } = await settled();
    expect(calls[0]).toMatchObject({ parsed: false });
  });

  it('reuses one kept-alive client connection across many inspected requests', async () => {
    const sockets = new Set<unknown>();
    for (let i = 0; i < 50; i++) {
      const r = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: proxyPort, method: 'POST', path: OPENAI, agent: keepAlive, headers: { 'content-type': 'application/json' } }, (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end(chat(i % 2 ? 'key sk-live-abcdef12' : 'hello', i % 3 ? { stream: true } : {}));
      });
      expect(r).toBe(200);
    }
    expect(sockets.size).toBe(1);
  });
});

describe('detectors off (measuring the proxy\'s own cost)', () => {
  it('still decides content rules on the prompt, records no text it did not scan, and fails detector rules by their class', async () => {
    detectors = false;
    expect((await send(OPENAI, chat('forbidden-topic please'))).status).toBe(403);
    recorded = [];
    const r = await send(OPENAI, chat('mail jane.doe@example.com the summary'));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).choices[0].message.content).toBe('answer to mail jane.doe@example.com the summary');
    const { calls } = await settled();
    // parsed from the JSON the response guard already read, without the text: it was not scanned for what to mask
    expect(calls[0]).toMatchObject({ verdict: 'allow', parsed: true, messages: [], detections: [], response: { content: null, finishReason: 'stop' } });
    expect(JSON.stringify(recorded)).not.toContain('jane.doe');

    // a PII rule cannot be decided without the detectors: enforce traffic is denied (the class fails closed), and says so
    const withPii = compilePolicy({ ...POLICY, rules: [...POLICY.rules, rule('pii-block', 'block', { piiTypes: ['email'] })] });
    policy = () => withPii;
    recorded = [];
    expect((await send(OPENAI, chat('nothing personal here'))).status).toBe(403);
    const { decisions } = await settled();
    expect(decisions).toMatchObject([{ ruleId: 'pii-block', action: 'block', matchedField: expect.stringMatching(/^fail_closed:/) }]);
    expect(stats.failClosed).toBe(1);
  });

  it('with the detectors on, records the answer the guard relayed unchanged, parsed once', async () => {
    const r = await send(OPENAI, chat('plain question'));
    expect(r.status).toBe(200);
    const { calls } = await settled();
    expect(calls[0]).toMatchObject({ verdict: 'allow', response: { content: 'answer to plain question', finishReason: 'stop' } });
  });
});
