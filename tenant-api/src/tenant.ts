import { createAgent } from '@higgs/agent';
import type { Principal } from '@higgs/schema';
import { createRegistry, type ToolRegistry } from '@higgs/tools';
import { createMcpHttpHandler } from '@higgs/tools/http';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import { bootstrapTenant } from './auth/bootstrap.ts';
import { parseTenantOptions, type TenantConfig, type TenantOptions } from './config.ts';
import { createPolicyNotifier } from './policy/policy-notifier.ts';
import { startRetention, type RetentionScheduler } from './retention/index.ts';
import { createProviderEmbedder } from './knowledge/embedder.ts';
import { createHiggsServices } from './services/higgs-services.ts';
import { openClickhouseTelemetry } from './stores/clickhouse/index.ts';
import type { OutboxLog } from './stores/clickhouse/outbox.ts';
import { listSkippedMigrations, migrate } from './stores/migrate.ts';
import { openPostgres } from './stores/postgres/index.ts';
import { openPglite, type SqlClient } from './stores/sql-client.ts';
import { createSqlTelemetryStore } from './stores/sql-telemetry-store.ts';
import type { TelemetryStore } from './stores/telemetry-store.ts';
import { createSqlConversationStore } from './stores/conversations-repository.ts';

/** How long an idle agent conversation is remembered. */
const CONVERSATION_TTL_MS = 24 * 60 * 60 * 1000;

/** How long close() lets in-flight requests finish before closing their connections. */
const SHUTDOWN_DRAIN_MS = 2000;

export interface Tenant {
  app: FastifyInstance;
  /** http://host:port the tenant listens on */
  url: string;
  config: TenantConfig;
  /** raw tokens when given or generated on this start; null when an earlier start created them */
  adminToken: string | null;
  scannerToken: string | null;
  /** the tool registry every surface serves, and the agent's principal: for in-process evals of the agent */
  registry: ToolRegistry;
  agentPrincipal: Principal;
  close(): Promise<void>;
}

/** State on Postgres when `postgresUrl` is set, else the embedded PGlite in `dataDir`. */
function openStateStore(config: TenantConfig): Promise<SqlClient> {
  return config.postgresUrl ? openPostgres(config.postgresUrl) : openPglite(config.dataDir);
}

/**
 * Telemetry on ClickHouse when `clickhouseUrl` is set, else the SQL tables beside the state.
 * ClickHouse's outbox (telemetry refused after its state committed) is `<dataDir>-clickhouse-outbox`,
 * beside the embedded state; in memory when the state is (`memory://`).
 */
function openTelemetryStore(config: TenantConfig, db: SqlClient, log: OutboxLog): Promise<TelemetryStore> {
  if (!config.clickhouseUrl) return Promise.resolve(createSqlTelemetryStore(db));
  const outboxDir = config.dataDir.startsWith('memory://') ? null : `${config.dataDir.replace(/\/+$/, '')}-clickhouse-outbox`;
  return openClickhouseTelemetry(config.clickhouseUrl, { outboxDir, log });
}

/**
 * Opens the stores, migrates them, bootstraps the tenant and listens.
 *
 * @example
 * const tenant = await createTenant({ port: 0, dataDir: 'memory://' });
 * // … talk to tenant.url with tenant.adminToken …
 * await tenant.close();
 */
export async function createTenant(options: TenantOptions = {}): Promise<Tenant> {
  const config = parseTenantOptions(options);
  const db = await openStateStore(config);
  let telemetry: TelemetryStore | undefined;
  let app: FastifyInstance | undefined;
  let mcp: { close(): Promise<void> } | undefined;
  let agentToClose: { close(): Promise<void> } | undefined;
  let retention: RetentionScheduler | undefined;
  try {
    await migrate(db);
    // the app's logger exists only later: the outbox logs through it once it does
    telemetry = await openTelemetryStore(config, db, {
      warn: (obj, msg) => (app ? app.log.warn(obj, msg) : process.stderr.write(`${msg}: ${String(obj.err ?? '')}\n`)),
      info: (obj, msg) => app?.log.info(obj, msg),
    });
    const boot = await bootstrapTenant(db, {
      tenantId: config.tenantId, name: config.tenantName, baseline: config.baseline,
      adminToken: config.adminToken, scannerToken: config.scannerToken,
    });
    const notifier = createPolicyNotifier();
    const embedder = config.embeddingsUrl
      ? createProviderEmbedder({ baseUrl: config.embeddingsUrl, model: config.embeddingsModel, apiKey: config.embeddingsApiKey ?? '' })
      : undefined;
    const services = createHiggsServices({ db, telemetry, notifier, cost: config.cost, ...(embedder ? { knowledge: { embedder } } : {}) });
    const registry = createRegistry(services);
    const agent = createAgent({
      registry,
      agentPrincipal: boot.agentPrincipal,
      // conversations survive a restart: "block it" after an upgrade still means the same finding
      conversations: createSqlConversationStore(db, { ttlMs: CONVERSATION_TTL_MS }),
      onError: (err) => app?.log.error({ err }, 'agent chat failed'),
      ...(config.anthropicApiKey ? {
        anthropic: { apiKey: config.anthropicApiKey, model: config.agentModel, ...(config.anthropicBaseUrl ? { baseURL: config.anthropicBaseUrl } : {}) },
      } : {}),
      // the agent's own token cost, per turn and user, in the tenant log
      onUsage: (usage, user) => app?.log.info({ agentUsage: usage, user: user.id }, 'agent turn usage'),
    });
    agentToClose = agent;
    const ownOrigins = (port: number) => [`http://${config.host}:${port}`, `http://localhost:${port}`, `http://127.0.0.1:${port}`];
    const allowedOrigins = [...config.allowedOrigins];
    const mcpHandler = createMcpHttpHandler({ registry, allowedOrigins });
    mcp = mcpHandler;
    app = await buildApp({ db, telemetry, notifier, registry, mcp: mcpHandler, agent, uiDir: config.uiDir, logLevel: config.logLevel });
    for (const skipped of await listSkippedMigrations(db)) {
      app.log.warn({ migration: skipped.name }, `migration not applied: ${skipped.reason}`);
    }
    const log = app.log;
    retention = startRetention({ db, telemetry, days: config.retentionDays, logger: { info: (c, m) => log.info(c, m), error: (c, m) => log.error(c, m) } });
    const openRetention = retention;
    await app.listen({ host: config.host, port: config.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    // the server's own origin is known only once it listens (port 0)
    if (config.allowedOrigins.length === 0) allowedOrigins.push(...ownOrigins(port));
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    const listening = app;
    const openMcp = mcpHandler;
    const openTelemetry = telemetry;
    return {
      app: listening,
      url: `http://${host}:${port}`,
      config,
      adminToken: boot.adminToken,
      scannerToken: boot.scannerToken,
      registry,
      agentPrincipal: boot.agentPrincipal,
      async close() {
        try {
          // Drain in-flight requests briefly, then cut what is left: a client that
          // vanished mid-request must not hold shutdown for fastify's 72 s keep-alive.
          const cut = setTimeout(() => listening.server.closeAllConnections(), SHUTDOWN_DRAIN_MS);
          try {
            await listening.close();
          } finally {
            clearTimeout(cut);
          }
          await openMcp.close();
          await agent.close();
        } finally {
          await openRetention.close();
          await openTelemetry.close().catch(() => undefined);
          await db.close();
        }
      },
    };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await mcp?.close().catch(() => undefined);
    await retention?.close().catch(() => undefined);
    await agentToClose?.close().catch(() => undefined);
    await telemetry?.close().catch(() => undefined);
    await db.close();
    throw err;
  }
}
