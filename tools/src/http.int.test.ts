import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ToolContracts, type Principal } from '@higgs/schema';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMcpHttpHandler, type McpHttpHandler } from './http.ts';
import { createRegistry } from './registry.ts';
import { createMemoryServices, makePrincipal, type MemoryServices } from './test-fixtures.ts';

const ALLOWED_ORIGIN = 'http://briefing.test';

let services: MemoryServices;
let handler: McpHttpHandler;
let server: Server;
let url: URL;
let tokens: Map<string, Principal>;
const clients: Client[] = [];

beforeEach(async () => {
  services = createMemoryServices();
  tokens = new Map([
    ['tok-alice', makePrincipal(services.tenantId, 'security')],
    ['tok-bob', makePrincipal(services.tenantId, 'viewer')],
  ]);
  handler = createMcpHttpHandler({ registry: createRegistry(services, { logger: { error: vi.fn() } }), allowedOrigins: [ALLOWED_ORIGIN] });
  // A stand-in for the tenant's auth: a bearer token resolves to a principal.
  server = createServer((req, res) => {
    const principal = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!principal) {
      res.writeHead(401).end();
      return;
    }
    handler.handle(req, res, undefined, principal).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
});

afterEach(async () => {
  try {
    for (const client of clients.splice(0)) await client.close();
  } finally {
    await handler.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function connect(token: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'ide', version: '0.0.0' });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

function initializeBody() {
  return JSON.stringify({
    jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
  });
}

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('MCP over Streamable HTTP', () => {
  it('initializes a session, lists tools and calls one as the session principal', async () => {
    const { client, transport } = await connect('tok-alice');
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(Object.keys(ToolContracts).length);

    const result = await client.callTool({
      name: 'add_inline_rule', arguments: { name: 'no emails', action: 'block', match: { piiTypes: ['email'] } },
    });
    expect(result.isError).toBeFalsy();
    const { rule } = ToolContracts.add_inline_rule.output.parse(result.structuredContent);
    expect(rule.createdBy).toBe(tokens.get('tok-alice')!.id);
  });

  it('applies the session principal\'s role', async () => {
    const { client } = await connect('tok-bob');
    const result = await client.callTool({ name: 'quarantine_namespace', arguments: { namespace: 'ml', reason: 'r' } });
    expect(result.isError).toBe(true);
    expect(services.quarantines).toHaveLength(0);
  });

  it('refuses a request from a disallowed Origin with 403', async () => {
    const res = await fetch(url, {
      method: 'POST', body: initializeBody(),
      headers: { ...MCP_HEADERS, authorization: 'Bearer tok-alice', origin: 'http://evil.test' },
    });
    expect(res.status).toBe(403);
    const allowed = await fetch(url, {
      method: 'POST', body: initializeBody(),
      headers: { ...MCP_HEADERS, authorization: 'Bearer tok-alice', origin: ALLOWED_ORIGIN },
    });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('mcp-session-id')).toBeTruthy();
    await allowed.body?.cancel();
  });

  it('refuses another principal\'s session id', async () => {
    const { transport } = await connect('tok-alice');
    const res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_rules', arguments: {} } }),
      headers: { ...MCP_HEADERS, authorization: 'Bearer tok-bob', 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-06-18' },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: -32001 } });
  });

  it('refuses a non-initialize request without a session', async () => {
    const res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      headers: { ...MCP_HEADERS, authorization: 'Bearer tok-alice' },
    });
    expect(res.status).toBe(400);
  });

  it('ends a session on DELETE', async () => {
    const { client, transport } = await connect('tok-alice');
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    const res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list', params: {} }),
      headers: { ...MCP_HEADERS, authorization: 'Bearer tok-alice', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    });
    expect(res.status).toBe(404);
    await client.close();
  });

  it('closes every session on close()', async () => {
    const { transport } = await connect('tok-alice');
    const sessionId = transport.sessionId!;
    await handler.close();
    const res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list', params: {} }),
      headers: { ...MCP_HEADERS, authorization: 'Bearer tok-alice', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
    });
    expect(res.status).toBe(503);
  });
});
