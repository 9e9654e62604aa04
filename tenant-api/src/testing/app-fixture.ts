/** Builds the real app (real registry, MCP handler and agent) over a test store. */
import { createAgent } from '@higgs/agent';
import { createRegistry } from '@higgs/tools';
import { createMcpHttpHandler } from '@higgs/tools/http';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../app.ts';
import { createPolicyNotifier } from '../policy/policy-notifier.ts';
import { createHiggsServices } from '../services/higgs-services.ts';
import type { SqlClient } from '../stores/sql-client.ts';
import type { TestTenant } from './fixtures.ts';

export interface TestApp {
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function buildTestApp(db: SqlClient, tenant: TestTenant, uiDir = '/nonexistent-higgs-ui'): Promise<TestApp> {
  const notifier = createPolicyNotifier();
  const registry = createRegistry(createHiggsServices({ db, notifier }));
  const mcp = createMcpHttpHandler({ registry, allowedOrigins: [] });
  const agent = createAgent({ registry, agentPrincipal: tenant.agent });
  const app = await buildApp({ db, notifier, registry, mcp, agent, uiDir });
  return {
    app,
    async close() {
      await app.close();
      await mcp.close();
      await agent.close();
    },
  };
}
