import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { generateDemoPki } from './pki.ts';

/** One tool call the mock MCP server executed, with the arguments as it received them. */
export interface ReceivedToolCall {
  tool: string;
  arguments: Record<string, unknown>;
  transport: 'streamable-http' | 'sse';
}

/** A running mock MCP server; see {@link startMockMcpServer}. */
export interface MockMcpServer {
  /** `http://HOST:PORT`, or `https://localhost:PORT` with `tls` */
  url: string;
  port: number;
  /** with `tls`: the demo CA that signed the server certificate (names: the demo PKI's, `localhost` among them) */
  caCertPem: string | null;
  /** every tool call that reached the server, in order */
  received: ReceivedToolCall[];
  close(): Promise<void>;
}

const CUSTOMERS: Record<string, { name: string; tier: string }> = {
  'c-1001': { name: 'Jordan Avery', tier: 'gold' },
  'c-1002': { name: 'Sam Okafor', tier: 'silver' },
};

function buildServer(received: ReceivedToolCall[], transport: ReceivedToolCall['transport']): McpServer {
  const server = new McpServer({ name: 'demo-crm', version: '1.0.0' });
  server.registerTool('lookup_customer', {
    description: 'Look up a customer by id: name and support tier.',
    inputSchema: { customer_id: z.string(), note: z.string().optional() },
  }, async (args) => {
    received.push({ tool: 'lookup_customer', arguments: args, transport });
    const c = CUSTOMERS[args.customer_id];
    return c
      ? { content: [{ type: 'text', text: `${args.customer_id}: ${c.name}, ${c.tier} tier` }] }
      : { content: [{ type: 'text', text: `no customer ${args.customer_id}` }], isError: true };
  });
  server.registerTool('run_sql', {
    description: 'Run a read-only SQL query against the CRM database.',
    inputSchema: { query: z.string() },
  }, async (args) => {
    received.push({ tool: 'run_sql', arguments: args, transport });
    return { content: [{ type: 'text', text: JSON.stringify([{ count: Object.keys(CUSTOMERS).length }]) }] };
  });
  server.registerResource('schema', 'crm://schema', { mimeType: 'text/plain', description: 'The CRM table layout' }, async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'customers(id text, name text, tier text)' }],
  }));
  return server;
}

/**
 * Starts a plain-HTTP MCP server built with the MCP SDK's McpServer, with the
 * tools `lookup_customer` and `run_sql` and the resource `crm://schema`, over
 * both transports: Streamable HTTP at `/mcp` (SSE responses) and
 * `/mcp-json` (JSON responses), and the legacy HTTP+SSE transport at
 * `GET /sse` + `POST /messages?sessionId=…`. With `tls`, the same over HTTPS
 * with a certificate from a fresh demo CA.
 *
 * @example
 * const mcp = await startMockMcpServer();
 * try { ... new URL('/mcp', mcp.url) ... } finally { await mcp.close(); }
 */
export async function startMockMcpServer(opts: { host?: string; port?: number; tls?: boolean } = {}): Promise<MockMcpServer> {
  const received: ReceivedToolCall[] = [];
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const legacy = new Map<string, SSEServerTransport>();
  const servers = new Set<McpServer>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://mock');
    if (url.pathname === '/mcp' || url.pathname === '/mcp-json') {
      const sessionId = req.headers['mcp-session-id'];
      const existing = typeof sessionId === 'string' ? streamable.get(sessionId) : undefined;
      if (existing) return existing.handleRequest(req, res);
      if (typeof sessionId === 'string') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
        return;
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: url.pathname === '/mcp-json',
        onsessioninitialized: (id) => {
          streamable.set(id, transport);
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) streamable.delete(transport.sessionId);
      };
      const server = buildServer(received, 'streamable-http');
      servers.add(server);
      await server.connect(transport);
      return transport.handleRequest(req, res);
    }
    if (url.pathname === '/sse' && req.method === 'GET') {
      const transport = new SSEServerTransport('/messages', res);
      legacy.set(transport.sessionId, transport);
      res.on('close', () => legacy.delete(transport.sessionId));
      const server = buildServer(received, 'sse');
      servers.add(server);
      await server.connect(transport);
      return;
    }
    if (url.pathname === '/messages' && req.method === 'POST') {
      const transport = legacy.get(url.searchParams.get('sessionId') ?? '');
      if (!transport) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Session not found');
        return;
      }
      return transport.handlePostMessage(req, res);
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('mock MCP server error');
      else res.destroy();
    });
  };
  const pki = opts.tls ? await generateDemoPki() : null;
  const http: Server = pki ? createHttpsServer({ key: pki.keyPem, cert: pki.certPem }, onRequest) : createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  return {
    url: pki ? `https://localhost:${port}` : `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    caCertPem: pki?.caCertPem ?? null,
    received,
    async close() {
      for (const s of servers) await s.close().catch(() => undefined);
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}
