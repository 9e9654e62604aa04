/** Test helpers: one in-memory store per test file, a fresh tenant per test. */
import { randomUUID } from 'node:crypto';
import type { IngestBatch, LlmCall, Principal } from '@higgs/schema';
import { bootstrapTenant } from '../auth/bootstrap.ts';
import { migrate } from '../stores/migrate.ts';
import { openPglite, type SqlClient } from '../stores/sql-client.ts';
import type { GovernanceBaseline } from '../stores/tenants-repository.ts';

/** PGlite takes seconds to start: open one per file in beforeAll, isolate tests by tenant id. */
export async function openTestDb(): Promise<SqlClient> {
  const db = await openPglite('memory://');
  await migrate(db);
  return db;
}

export interface TestTenant {
  tenantId: string;
  admin: Principal;
  agent: Principal;
  scanner: Principal;
  adminToken: string;
  scannerToken: string;
}

export async function createTestTenant(db: SqlClient, baseline: GovernanceBaseline = { namespaces: [], providers: [] }): Promise<TestTenant> {
  const tenantId = `t_${randomUUID().slice(0, 8)}`;
  const boot = await bootstrapTenant(db, { tenantId, name: tenantId, baseline });
  if (!boot.adminToken || !boot.scannerToken) throw new Error('a new tenant must get tokens');
  return {
    tenantId,
    admin: { id: 'admin', tenantId, name: 'Administrator', kind: 'human', role: 'admin' },
    agent: boot.agentPrincipal,
    scanner: { id: 'scanner', tenantId, name: 'Scanner', kind: 'scanner', role: 'scanner' },
    adminToken: boot.adminToken,
    scannerToken: boot.scannerToken,
  };
}

let counter = 0;
/** A unique, valid event id. */
export function eventId(): string {
  counter += 1;
  return `evt_${randomUUID().slice(0, 8)}_${counter}`;
}

/** A parsed-shape LLM call from payments/checkout to OpenAI, with no detections. */
export function llmCall(overrides: Partial<LlmCall> = {}): LlmCall {
  return {
    id: eventId(),
    scannerId: 'node-1',
    ts: '2026-11-20T10:00:00.000Z',
    durationMs: 120,
    tap: 'proxy',
    provider: 'openai',
    endpoint: 'chat',
    host: 'api.openai.com',
    path: '/v1/chat/completions',
    parsed: true,
    model: 'gpt-4o-mini',
    stream: false,
    system: null,
    messages: [{ role: 'user', content: 'Summarise the order for [EMAIL:1a2b3c4d]' }],
    tools: [],
    response: { content: 'Done.', finishReason: 'stop', toolCalls: [] },
    usage: { inputTokens: 12, outputTokens: 3 },
    status: 200,
    error: null,
    source: { ip: '10.0.0.7', namespace: 'payments', app: 'checkout', mode: 'enforce' },
    attribution: { userId: 'alice@example.com', userSource: 'baggage', traceId: null, parentSpanId: null, sessionId: 'sess-1' },
    detections: [],
    injectionScore: 0,
    verdict: 'allow',
    ruleIds: [],
    ...overrides,
  };
}

export function batchOf(...calls: LlmCall[]): IngestBatch {
  return { scannerId: 'node-1', events: calls.map((event) => ({ kind: 'llm_call' as const, event })) };
}
