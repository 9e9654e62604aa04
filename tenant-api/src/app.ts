import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { ToolRegistry } from '@higgs/tools';
import Fastify, { type FastifyInstance } from 'fastify';
import { TenantError, type TenantErrorCode } from './errors.ts';
import type { PolicyNotifier } from './policy/policy-notifier.ts';
import { registerApiRoutes, type ChatAgent, type McpHandler } from './routes/api-routes.ts';
import { registerIngestRoutes } from './routes/ingest-routes.ts';
import { registerPolicyRoutes } from './routes/policy-routes.ts';
import type { SqlClient } from './stores/sql-client.ts';
import type { TelemetryStore } from './stores/telemetry-store.ts';

export interface AppOptions {
  db: SqlClient;
  /** where observations go; default: the SQL tables in `db` */
  telemetry?: TelemetryStore;
  notifier: PolicyNotifier;
  registry: ToolRegistry;
  mcp: McpHandler;
  agent: ChatAgent;
  /** the built Briefing UI; when missing, `/` explains how to build it */
  uiDir: string;
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
}

const TENANT_ERROR_STATUS: Record<TenantErrorCode, number> = {
  CONFIG_INVALID: 500,
  MIGRATION_FAILED: 500,
  BASELINE_INVALID: 500,
  UNAUTHENTICATED: 401,
  WRONG_TOKEN_KIND: 403,
  FORBIDDEN: 403,
  INVALID_BATCH: 400,
  INVALID_REQUEST: 400,
  NOT_FOUND: 404,
  STORE_FAILED: 500,
  // the configured embeddings provider failed: a server-side fault, reported generically like every 5xx
  EMBEDDINGS_FAILED: 500,
};

const API_PREFIXES = ['/api/', '/v1/', '/mcp', '/healthz'];

/**
 * The tenant's HTTP surface: ingest and policy for scanners, tools, /mcp and
 * the agent for people, and the Briefing UI. Every error body is
 * `{ error: { code, message } }`; 5xx bodies are generic and the cause is logged.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logLevel === undefined || options.logLevel === 'silent' ? false : { level: options.logLevel },
    // the scanner sends a compact batch; people's tool calls are small
    bodyLimit: 1024 * 1024,
  });

  app.setErrorHandler((error, request, reply) => {
    const status = error instanceof TenantError
      ? TENANT_ERROR_STATUS[error.code]
      : typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
    if (status >= 500) {
      request.log.error({ err: error, url: request.url, method: request.method }, 'request failed');
      return reply.code(status).send({ error: { code: 'INTERNAL', message: 'internal error' } });
    }
    const code = error instanceof TenantError ? error.code : (error as { code?: string }).code ?? 'BAD_REQUEST';
    const message = error instanceof Error ? error.message : String(error);
    return reply.code(status).send({ error: { code, message } });
  });

  app.get('/healthz', async () => {
    await options.db.query('SELECT 1');
    // with ClickHouse: telemetry it refused after the state committed, waiting in the outbox
    const held = options.telemetry?.heldEvents?.();
    return held === undefined ? { ok: true } : { ok: true, telemetryHeld: held };
  });

  registerIngestRoutes(app, { db: options.db, telemetry: options.telemetry });
  registerPolicyRoutes(app, { db: options.db, notifier: options.notifier });
  registerApiRoutes(app, { db: options.db, registry: options.registry, mcp: options.mcp, agent: options.agent });

  const uiReady = existsSync(join(options.uiDir, 'index.html'));
  if (uiReady) await app.register(fastifyStatic, { root: options.uiDir, prefix: '/' });

  app.setNotFoundHandler((request, reply) => {
    const isApi = API_PREFIXES.some((p) => request.url.startsWith(p));
    if (isApi || request.method !== 'GET') {
      return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } });
    }
    if (!uiReady) {
      return reply.code(503).type('text/plain; charset=utf-8')
        .send(`The Briefing UI is not built (no index.html in ${options.uiDir}). Run: npm run build -w @higgs/ui\n`);
    }
    // SPA fallback: client-side routes render from index.html
    return reply.type('text/html; charset=utf-8').sendFile('index.html');
  });

  return app;
}
