/**
 * MCP through the scanner's proxy with the MCP SDK `Client`, over Streamable
 * HTTP (SSE and JSON responses) and the legacy HTTP+SSE transport, against
 * the demo's McpServer: calls are recorded as ToolCalls, a blocked tools/call
 * is answered by the proxy as a tool error the server never sees, a redacted
 * one reaches the server without the SSN.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { startMockMcpServer, type MockMcpServer } from '@higgs/demo';
import { startScanner, type ScannerHandle } from '@higgs/scanner';
import { type IngestEvent, type ScannerPolicy, type ToolCall } from '@higgs/schema';
import { fetch as undiciFetch, ProxyAgent } from 'undici';
import { startRecordingTenant, type RecordingTenant } from '../testing/recording-tenant.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SSN = '536-22-8841';
const MCP_HOST = 'crm-mcp.internal';
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const rule = (id: string, action: 'block' | 'redact', match: Record<string, unknown>) => ({
  id, name: id, action, match, enabled: true, createdBy: 'test', createdAt: '2026-01-01T00:00:00Z', sourceFindingId: null,
});
const policy: ScannerPolicy = {
  version: 'v1', quarantinedNamespaces: [], blockedSessions: [],
  rules: [
    rule('no-raw-sql', 'block', { toolNames: ['run_sql'] }),
    rule('no-drop', 'block', { promptContains: ['drop table'] }),
    rule('redact-ssn', 'redact', { piiTypes: ['ssn'] }),
  ],
};

let dir: string;
let tenant: RecordingTenant;
let mcp: MockMcpServer;
let mcpTls: MockMcpServer;
let scanner: ScannerHandle;
let dispatcher: ProxyAgent;
let tunnel: ProxyAgent;
let ingested: IngestEvent[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'higgs-mcp-proxy-'));
  tenant = await startRecordingTenant({ scannerId: 'node-1', policy });
  ingested = tenant.ingested;
  mcp = await startMockMcpServer();
  mcpTls = await startMockMcpServer({ tls: true });
  const workloadsFile = join(dir, 'workloads.json');
  writeFileSync(workloadsFile, JSON.stringify({ workloads: [
    { namespace: 'support', app: 'support-agent', ips: ['127.0.0.1'], labels: { 'higgs.scan': 'enabled', 'higgs.io/enforce': 'enabled' } },
  ] }));
  scanner = await startScanner({
    scannerId: 'node-1', dataDir: join(dir, 'scanner'), proxyPort: 0, policyPort: 0,
    tenantUrl: tenant.url, scannerToken: 'scanner-token', hashSalt: 'salt',
    mcpHosts: [MCP_HOST, 'localhost'], hostsOverride: { [MCP_HOST]: `127.0.0.1:${mcp.port}` }, upstreamCaPem: [mcpTls.caCertPem!],
    workloadsFile, uploadIntervalMs: 60_000, policyWaitMs: 1000, logger: quiet,
  });
  await scanner.waitForPolicy((p) => p.version === 'v1', 10_000);
  // plain-HTTP MCP: the proxy sees absolute-URI requests (no CONNECT tunnel)
  dispatcher = new ProxyAgent({ uri: scanner.proxyUrl, proxyTunnel: false });
  // https MCP: a CONNECT tunnel the proxy terminates with its CA
  tunnel = new ProxyAgent({ uri: scanner.proxyUrl, requestTls: { ca: [scanner.caCertPem] } });
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await dispatcher?.close();
  await tunnel?.close();
  await scanner?.close();
  await mcp?.close();
  await mcpTls?.close();
  await tenant?.close();
  rmSync(dir, { recursive: true, force: true });
});

const viaProxy = ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
  undiciFetch(input as never, { ...(init as object), dispatcher } as never)) as unknown as typeof fetch;
const viaTunnel = ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
  undiciFetch(input as never, { ...(init as object), dispatcher: tunnel } as never)) as unknown as typeof fetch;

async function connect(kind: 'streamable' | 'streamable-json' | 'sse' | 'streamable-https'): Promise<Client> {
  const base = `http://${MCP_HOST}`;
  const transport: Transport = kind === 'sse'
    ? new SSEClientTransport(new URL('/sse', base), { fetch: viaProxy })
    : kind === 'streamable-https'
      ? new StreamableHTTPClientTransport(new URL('/mcp', mcpTls.url), { fetch: viaTunnel })
      : new StreamableHTTPClientTransport(new URL(kind === 'streamable' ? '/mcp' : '/mcp-json', base), { fetch: viaProxy });
  const client = new Client({ name: `higgs-e2e-${kind}`, version: '1.0.0' });
  clients.push(client);
  await client.connect(transport);
  return client;
}

async function toolCalls(predicate: (c: ToolCall) => boolean): Promise<ToolCall[]> {
  await scanner.flush();
  return ingested.flatMap((e) => (e.kind === 'tool_call' ? [e.event] : [])).filter(predicate);
}
const text = (r: Awaited<ReturnType<Client['callTool']>>): string => (r.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('');

describe.each(['streamable', 'streamable-json', 'sse', 'streamable-https'] as const)('MCP through the proxy over %s', (kind) => {
  const host = kind === 'streamable-https' ? 'localhost' : MCP_HOST;
  const server = (): MockMcpServer => (kind === 'streamable-https' ? mcpTls : mcp);
  let client: Client;
  beforeAll(async () => {
    client = await connect(kind);
  });

  it('records initialize, tools/list, tools/call and resources/read as ToolCalls with inputs and outputs', async () => {
    const tools = await client.listTools();
    expect(tools.tools.map((t) => t.name).sort()).toEqual(['lookup_customer', 'run_sql']);
    const customerId = kind === 'sse' || kind === 'streamable-https' ? 'c-1002' : 'c-1001';
    const r = await client.callTool({ name: 'lookup_customer', arguments: { customer_id: customerId } });
    expect(r.isError).toBeFalsy();
    const resource = await client.readResource({ uri: 'crm://schema' });
    expect(resource.contents[0]).toMatchObject({ text: 'customers(id text, name text, tier text)' });

    const calls = await toolCalls((c) => c.host === host);
    expect(calls.find((c) => c.method === 'tools/call' && c.input?.includes(customerId))).toMatchObject({
      toolName: 'lookup_customer', input: JSON.stringify({ customer_id: customerId }), isError: false, verdict: 'allow',
      // the recorded output is the server's text with detected PII (here the customer's name) masked
      output: expect.stringMatching(new RegExp(`^${customerId}: .+, ${text(r).split(', ').at(-1)}$`)),
      source: { namespace: 'support', app: 'support-agent', mode: 'enforce' },
    });
    expect(calls.some((c) => c.method === 'initialize' && c.output?.includes('demo-crm'))).toBe(true);
    expect(calls.some((c) => c.method === 'tools/list' && c.output === 'lookup_customer\nrun_sql')).toBe(true);
    expect(calls.some((c) => c.method === 'resources/read' && c.toolName === 'crm://schema' && c.output === 'customers(id text, name text, tier text)')).toBe(true);
  });

  it('blocks a tools/call by tool name: the client gets a tool error with the reason, the server never runs it', async () => {
    const before = server().received.length;
    const r = await client.callTool({ name: 'run_sql', arguments: { query: `select count(*) from customers -- ${kind}` } });
    expect(r.isError).toBe(true);
    expect(text(r)).toBe('Blocked by Higgs policy: no-raw-sql');
    expect(server().received.length).toBe(before);
    const [call] = await toolCalls((c) => c.toolName === 'run_sql' && (c.input ?? '').includes(kind));
    expect(call).toMatchObject({ method: 'tools/call', verdict: 'block', isError: true, ruleIds: ['no-raw-sql'], output: 'Blocked by Higgs policy: no-raw-sql' });
    // the session is still usable after a block
    expect((await client.callTool({ name: 'lookup_customer', arguments: { customer_id: 'c-1001' } })).isError).toBeFalsy();
  });

  it('blocks on the tool input text, and redacts an SSN in the arguments before the server sees them', async () => {
    const blocked = await client.callTool({ name: 'lookup_customer', arguments: { customer_id: 'c-1001', note: 'then drop table customers' } });
    expect(blocked.isError).toBe(true);
    expect(text(blocked)).toBe('Blocked by Higgs policy: no-drop');

    await client.callTool({ name: 'lookup_customer', arguments: { customer_id: 'c-1001', note: `caller ssn ${SSN} (${kind})` } });
    const seen = server().received.at(-1)!;
    expect(seen.tool).toBe('lookup_customer');
    expect(seen.arguments.note).toContain(`(${kind})`);
    expect(JSON.stringify(seen.arguments)).not.toContain(SSN);
    const [call] = await toolCalls((c) => c.verdict === 'redact' && (c.input ?? '').includes(`(${kind})`));
    expect(call).toMatchObject({ toolName: 'lookup_customer', isError: false });
    expect(call!.input).not.toContain(SSN);
    expect(call!.detections).toContainEqual(expect.objectContaining({ type: 'ssn', field: 'tool_input' }));
  });
});

describe('MCP block framing', () => {
  it('answers in SSE when the client accepts only an event stream, with the request id', async () => {
    const res = await undiciFetch(`http://${MCP_HOST}/mcp`, {
      method: 'POST', dispatcher,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'req-42', method: 'tools/call', params: { name: 'run_sql', arguments: { query: 'select 1' } } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const body = await res.text();
    expect(body.startsWith('event: message\ndata: ')).toBe(true);
    expect(JSON.parse(body.slice('event: message\ndata: '.length))).toEqual({
      jsonrpc: '2.0', id: 'req-42', result: { content: [{ type: 'text', text: 'Blocked by Higgs policy: no-raw-sql' }], isError: true },
    });
  });
});

describe('MCP fail modes (enforce traffic, as on the LLM path)', () => {
  // a second scanner whose every rule misses its budget (0 µs): a timeout for each rule; the
  // settings object is read per request, so each test sets the fail mode of the classes
  type Settings = NonNullable<Parameters<typeof startScanner>[0]['enforcement']>;
  const settings: { -readonly [K in keyof Settings]: Settings[K] } = {
    failModes: { pii: 'closed', injection: 'closed', content: 'closed', attribute: 'closed' }, maxBodyBytes: 8 * 1024 * 1024, evaluationBudgetUs: 0,
  };
  const warnings: string[] = [];
  let timed: ScannerHandle;
  let client: Client;
  beforeAll(async () => {
    timed = await startScanner({
      scannerId: 'node-1', dataDir: join(dir, 'scanner-timeout'), proxyPort: 0, policyPort: 0,
      tenantUrl: tenant.url, scannerToken: 'scanner-token', hashSalt: 'salt',
      mcpHosts: [MCP_HOST], hostsOverride: { [MCP_HOST]: `127.0.0.1:${mcp.port}` },
      workloadsFile: join(dir, 'workloads.json'), uploadIntervalMs: 60_000, policyWaitMs: 1000, enforcement: settings,
      logger: { ...quiet, warn: (_o: unknown, msg: string) => { warnings.push(msg); } },
    });
    await timed.waitForPolicy((p) => p.version === 'v1', 10_000);
    const agent = new ProxyAgent({ uri: timed.proxyUrl, proxyTunnel: false });
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', `http://${MCP_HOST}`), {
      fetch: ((input: Parameters<typeof fetch>[0], init?: RequestInit) => undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch,
    });
    client = new Client({ name: 'higgs-e2e-fail-modes', version: '1.0.0' });
    clients.push(client);
    await client.connect(transport);
  });
  afterAll(async () => {
    await timed?.close();
  });
  const timedCalls = async (marker: string): Promise<ToolCall[]> => {
    await timed.flush();
    return ingested.flatMap((e) => (e.kind === 'tool_call' ? [e.event] : [])).filter((c) => (c.input ?? '').includes(marker));
  };
  const decisionsOf = (callId: string) => ingested.flatMap((e) => (e.kind === 'decision' && e.event.callId === callId ? [e.event] : []));

  it('denies by default: a tools/call whose rules time out is answered with a tool error and never reaches the server', async () => {
    const before = mcp.received.length;
    const failClosedBefore = timed.stats().failClosed;
    const r = await client.callTool({ name: 'lookup_customer', arguments: { customer_id: 'c-1001', note: 'fail-closed-marker' } });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^Blocked by Higgs policy: .+ could not be evaluated \(timeout\)$/);
    expect(mcp.received.length).toBe(before);
    expect(timed.stats().failClosed).toBeGreaterThan(failClosedBefore);
    const [call] = await timedCalls('fail-closed-marker');
    expect(call).toMatchObject({ verdict: 'block', isError: true });
    expect(call!.uninspected).toBeUndefined();
    expect(decisionsOf(call!.id)).toContainEqual(expect.objectContaining({ action: 'block', matchedField: 'fail_closed:timeout' }));
  });

  it('fails open when configured: the call goes through, counted, recorded uninspected and alerted', async () => {
    settings.failModes = { pii: 'open', injection: 'open', content: 'open', attribute: 'open' };
    warnings.length = 0;
    const before = mcp.received.length;
    const failOpenBefore = timed.stats().failOpen;
    const r = await client.callTool({ name: 'lookup_customer', arguments: { customer_id: 'c-1001', note: 'fail-open-marker' } });
    expect(r.isError).toBeFalsy();
    expect(mcp.received.length).toBe(before + 1);
    // one fail-open per candidate rule not decided
    const failedOpen = timed.stats().failOpen - failOpenBefore;
    expect(failedOpen).toBeGreaterThan(0);
    expect(warnings).toContain('rule not evaluated: failing open');
    const [call] = await timedCalls('fail-open-marker');
    expect(call).toMatchObject({ verdict: 'allow', isError: false, uninspected: true });
    expect(decisionsOf(call!.id).map((d) => [d.action, d.matchedField])).toEqual(Array.from({ length: failedOpen }, () => ['alert', 'fail_open:timeout']));
  });
});

describe('MCP observe traffic', () => {
  let observing: ScannerHandle;
  let client: Client;
  beforeAll(async () => {
    const workloadsFile = join(dir, 'workloads-observe.json');
    writeFileSync(workloadsFile, JSON.stringify({ workloads: [
      { namespace: 'support', app: 'support-agent', ips: ['127.0.0.1'], labels: { 'higgs.scan': 'enabled' } },
    ] }));
    observing = await startScanner({
      scannerId: 'node-1', dataDir: join(dir, 'scanner-observe'), proxyPort: 0, policyPort: 0,
      tenantUrl: tenant.url, scannerToken: 'scanner-token', hashSalt: 'salt',
      mcpHosts: [MCP_HOST], hostsOverride: { [MCP_HOST]: `127.0.0.1:${mcp.port}` }, workloadsFile, uploadIntervalMs: 60_000, policyWaitMs: 1000, logger: quiet,
    });
    await observing.waitForPolicy((p) => p.version === 'v1', 10_000);
    const agent = new ProxyAgent({ uri: observing.proxyUrl, proxyTunnel: false });
    const transport = new StreamableHTTPClientTransport(new URL('/mcp', `http://${MCP_HOST}`), {
      fetch: ((input: Parameters<typeof fetch>[0], init?: RequestInit) => undiciFetch(input as never, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch,
    });
    client = new Client({ name: 'higgs-e2e-observe', version: '1.0.0' });
    clients.push(client);
    await client.connect(transport);
  });
  afterAll(async () => {
    await observing?.close();
  });

  it('forwards a call a rule would block, inspects it off the hot path and records the match as an alert', async () => {
    const before = mcp.received.length;
    const r = await client.callTool({ name: 'run_sql', arguments: { query: `select 1 -- observe-marker ${SSN}` } });
    expect(r.isError).toBeFalsy();
    expect(mcp.received.length).toBe(before + 1);
    expect(JSON.stringify(mcp.received.at(-1)!.arguments)).toContain(SSN); // observe never alters traffic
    await observing.flush();
    const [call] = ingested.flatMap((e) => (e.kind === 'tool_call' ? [e.event] : [])).filter((c) => (c.input ?? '').includes('observe-marker'));
    expect(call).toMatchObject({ toolName: 'run_sql', verdict: 'alert', isError: false, source: { mode: 'observe' } });
    expect(call!.ruleIds).toEqual(expect.arrayContaining(['no-raw-sql', 'redact-ssn']));
    expect(call!.input).not.toContain(SSN);
    expect(call!.detections).toContainEqual(expect.objectContaining({ type: 'ssn', field: 'tool_input' }));
    const decisions = ingested.flatMap((e) => (e.kind === 'decision' && e.event.callId === call!.id ? [e.event] : []));
    expect(decisions.length).toBeGreaterThan(0);
    expect(decisions.every((d) => d.action === 'alert')).toBe(true);
  });
});
