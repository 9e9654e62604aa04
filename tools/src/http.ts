/**
 * MCP over Streamable HTTP (spec 2025-11-25) for the tenant's `/mcp` route.
 * Node-only: served from `@higgs/tools/http`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '@higgs/schema';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createMcpServer } from './mcp-server.ts';
import type { ToolRegistry } from './types.ts';

export interface McpHttpHandlerOptions {
  registry: ToolRegistry;
  /**
   * Browser origins allowed to call `/mcp` (e.g. the Briefing's own origin). A
   * request carrying any other `Origin` is refused with 403 — the spec's guard
   * against DNS rebinding. Requests without `Origin` (IDEs, CLIs) are not browsers.
   */
  allowedOrigins: readonly string[];
  /** largest JSON body read when the caller has not parsed it; default 4 MiB */
  maxBodyBytes?: number;
}

export interface McpHttpHandler {
  /**
   * Serves one request to the MCP endpoint (POST, GET or DELETE) for an
   * authenticated `principal`. Pass the body if your framework already parsed
   * it, `undefined` otherwise.
   */
  handle(req: IncomingMessage, res: ServerResponse, parsedBody: unknown, principal: Principal): Promise<void>;
  /** ends every session; later requests are refused */
  close(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  principal: Principal;
}

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Stateful Streamable HTTP: an initialize request opens a session
 * (`Mcp-Session-Id`) with its own McpServer bound to the principal that
 * opened it; later requests must carry the id and come from the same principal
 * (anything else is answered as an unknown session, 404). DELETE ends a session.
 *
 * @example
 * const mcp = createMcpHttpHandler({ registry, allowedOrigins: ['http://127.0.0.1:7070'] });
 * app.all('/mcp', async (req, reply) => { reply.hijack(); await mcp.handle(req.raw, reply.raw, req.body, req.principal); });
 */
export function createMcpHttpHandler(options: McpHttpHandlerOptions): McpHttpHandler {
  const { registry, allowedOrigins } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const sessions = new Map<string, Session>();
  let closed = false;

  async function openSession(req: IncomingMessage, res: ServerResponse, body: unknown, principal: Principal): Promise<void> {
    const server = createMcpServer(registry, principal);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, principal });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  return {
    async handle(req, res, parsedBody, principal) {
      if (closed) return sendError(res, 503, -32000, 'MCP endpoint is shutting down');
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedOrigins.includes(origin)) {
        return sendError(res, 403, -32000, 'Forbidden: origin not allowed');
      }

      const sessionId = req.headers['mcp-session-id'];
      if (typeof sessionId === 'string') {
        const session = sessions.get(sessionId);
        // Another principal's session is reported as unknown: ids are not to be probed.
        if (!session || !samePrincipal(session.principal, principal)) {
          return sendError(res, 404, -32001, 'Session not found');
        }
        return session.transport.handleRequest(req, res, parsedBody);
      }

      if (req.method !== 'POST') return sendError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required');
      let body = parsedBody;
      if (body === undefined) {
        const read = await readJson(req, maxBodyBytes);
        if (!read.ok) return sendError(res, read.status, read.code, read.message);
        body = read.value;
      }
      if (!isInitializeRequest(body)) {
        return sendError(res, 400, -32000, 'Bad Request: no session; the first request must be initialize');
      }
      return openSession(req, res, body, principal);
    },

    async close() {
      closed = true;
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.allSettled(open.map((s) => s.server.close()));
    },
  };
}

function samePrincipal(a: Principal, b: Principal): boolean {
  return a.tenantId === b.tenantId && a.id === b.id;
}

function sendError(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

type ReadResult = { ok: true; value: unknown } | { ok: false; status: number; code: number; message: string };

async function readJson(req: IncomingMessage, maxBytes: number): Promise<ReadResult> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return { ok: false, status: 413, code: -32000, message: `request body over ${maxBytes} bytes` };
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    // -32700 is JSON-RPC's parse error
    return { ok: false, status: 400, code: -32700, message: 'Parse error: body is not JSON' };
  }
}
