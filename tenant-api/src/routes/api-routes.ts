import type { IncomingMessage, ServerResponse } from 'node:http';
import { ChatRequest, type ChatEvent, type Principal } from '@higgs/schema';
import type { ToolErrorCode, ToolRegistry } from '@higgs/tools';
import type { FastifyInstance } from 'fastify';
import { TenantError } from '../errors.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import { PEOPLE_AND_AGENT, principalFor } from './auth-hooks.ts';
import { zodMessage } from './zod-message.ts';

/** The MCP Streamable HTTP handler the tools package builds from the registry. */
export interface McpHandler {
  handle(req: IncomingMessage, res: ServerResponse, parsedBody: unknown, principal: Principal): Promise<void>;
  close(): Promise<void>;
}

/** The in-tenant agent. */
export interface ChatAgent {
  chat(request: ChatRequest, user: Principal): AsyncIterable<ChatEvent>;
  close(): Promise<void>;
}

export const TOOL_ERROR_STATUS: Record<ToolErrorCode, number> = {
  INVALID_INPUT: 400,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_TOOL: 404,
  CONFLICT: 409,
  APPROVAL_MISMATCH: 409,
  EXPIRED: 409,
  INTERNAL: 500,
};

export interface ApiDeps {
  db: SqlClient;
  registry: ToolRegistry;
  mcp: McpHandler;
  agent: ChatAgent;
}

export function registerApiRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { db, registry } = deps;

  app.get('/api/me', async (request) => principalFor(db, request, PEOPLE_AND_AGENT));

  app.get('/api/tools', async (request) => {
    await principalFor(db, request, PEOPLE_AND_AGENT);
    return {
      tools: registry.list().map((t) => ({
        name: t.name, title: t.title, description: t.description, annotations: t.annotations, role: t.role,
      })),
    };
  });

  app.post<{ Params: { name: string } }>('/api/tools/:name', async (request, reply) => {
    const principal = await principalFor(db, request, PEOPLE_AND_AGENT);
    const result = await registry.call(request.params.name, request.body ?? {}, principal);
    if (result.ok) return result.output;
    const status = TOOL_ERROR_STATUS[result.error.code];
    if (status >= 500) {
      request.log.error({ tool: request.params.name, error: result.error }, 'tool failed internally');
      return reply.code(status).send({ error: { code: 'INTERNAL', message: 'internal error' } });
    }
    return reply.code(status).send({ error: result.error });
  });

  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/mcp',
    handler: async (request, reply) => {
      const principal = await principalFor(db, request, PEOPLE_AND_AGENT);
      reply.hijack();
      try {
        await deps.mcp.handle(request.raw, reply.raw, request.body, principal);
      } catch (err) {
        request.log.error({ err }, 'mcp handler failed');
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { 'content-type': 'application/json' });
          reply.raw.end(JSON.stringify({ error: { code: 'INTERNAL', message: 'internal error' } }));
        } else {
          reply.raw.end();
        }
      }
    },
  });

  app.post('/api/agent/chat', async (request, reply) => {
    const principal = await principalFor(db, request, PEOPLE_AND_AGENT);
    const parsed = ChatRequest.safeParse(request.body);
    if (!parsed.success) throw new TenantError('INVALID_REQUEST', zodMessage(parsed.error));
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    let gone = false;
    res.once('close', () => { gone = true; });
    try {
      for await (const event of deps.agent.chat(parsed.data, principal)) {
        if (gone) break;
        res.write(`${JSON.stringify(event)}\n`);
      }
    } catch (err) {
      request.log.error({ err }, 'agent chat failed');
      const failure: ChatEvent = { type: 'error', message: 'the agent failed; the error is in the tenant log' };
      if (!gone) res.write(`${JSON.stringify(failure)}\n`);
    } finally {
      res.end();
    }
  });
}
